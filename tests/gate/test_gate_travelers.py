"""Synthetic travelers: deterministic, realistic DPRI data, valid MRZ, configurable rates."""

from __future__ import annotations

import random
import re
from itertools import islice

from edge.gate.recognition import traveler_from_mrz
from edge.mrz import DocumentPolicy, check_document, parse_mrz
from simulators.scenarios import SIM_TODAY
from simulators.travelers import TravelerRates, make_traveler, traveler_stream


def test_stream_is_deterministic_from_seed() -> None:
    a = [t.mrz_lines for t in islice(traveler_stream(5, today=SIM_TODAY), 30)]
    b = [t.mrz_lines for t in islice(traveler_stream(5, today=SIM_TODAY), 30)]
    c = [t.mrz_lines for t in islice(traveler_stream(6, today=SIM_TODAY), 30)]
    assert a == b and a != c


def test_mrz_round_trips_with_valid_check_digits() -> None:
    """The gate must read back exactly the traveler the simulator made."""
    for t in islice(traveler_stream(1, today=SIM_TODAY), 100):
        mrz = parse_mrz(list(t.mrz_lines), today=SIM_TODAY)
        assert mrz.valid, t
        assert traveler_from_mrz(mrz).document_number == t.document_number
        assert mrz.birth_date == t.birth_date and mrz.expiry_date == t.expiry_date
        assert mrz.nationality == t.nationality


def test_wni_dpri_numbers_names_and_single_names() -> None:
    people = list(islice(traveler_stream(2, today=SIM_TODAY, rates=TravelerRates(foreign=0.0)), 200))
    assert all(re.fullmatch(r"[XCBE]\d{7}", p.document_number) for p in people)
    assert all(p.nationality == "IDN" for p in people)
    singles = [p for p in people if not p.given_names]
    assert 10 <= len(singles) <= 80  # about one in five
    mrz = parse_mrz(list(singles[0].mrz_lines), today=SIM_TODAY)
    assert mrz.given_names == "" and mrz.surname == singles[0].surname.upper()


def test_rates_produce_foreigners_and_expired_documents_that_the_policy_refuses() -> None:
    rates = TravelerRates(foreign=0.3, expired=0.3)
    people = list(islice(traveler_stream(3, today=SIM_TODAY, rates=rates), 300))
    foreign = [p for p in people if p.nationality != "IDN"]
    expired = [p for p in people if p.expiry_date < SIM_TODAY]
    assert 50 <= len(foreign) <= 130 and 50 <= len(expired) <= 130
    policy = DocumentPolicy()
    for p in people:
        decision = check_document(
            parse_mrz(list(p.mrz_lines), today=SIM_TODAY),
            today=SIM_TODAY,
            policy=policy,
        )
        if p.nationality != "IDN":
            assert "nationality_not_allowed" in decision.reasons
        if p.expiry_date < SIM_TODAY:
            assert "expired" in decision.reasons


def test_biometric_flags_per_attempt() -> None:
    rng = random.Random(0)
    t = make_traveler(rng, 1, today=SIM_TODAY, finger_samples=("mismatch", "genuine"))
    assert [t.finger_sample(i) for i in range(3)] == ["mismatch", "genuine", "genuine"]
    assert t.document_number not in repr(t) and t.surname not in repr(t)  # reprs end up in logs
    unreadable = make_traveler(rng, 2, today=SIM_TODAY, document_readable=False)
    assert unreadable.presented().mrz_lines is None
