"""Document checks: expiry, validity left, not-yet-valid, type, nationality, issuing state."""

from __future__ import annotations

from datetime import date

import pytest

from edge.mrz import DocumentPolicy, check_document, compose_td1, compose_td3, parse_mrz

TODAY = date(2026, 11, 27)
DPRI = DocumentPolicy()


def _passport(**overrides: object):
    fields = {
        "surname": "SANTOSO", "given_names": "BUDI", "document_number": "C1234567", "nationality": "IDN",
        "birth_date": date(1985, 3, 14), "sex": "M", "expiry_date": date(2030, 5, 1),
    } | overrides
    return parse_mrz(compose_td3(**fields), today=TODAY)  # type: ignore[arg-type]


def test_a_valid_dpri_is_accepted() -> None:
    decision = check_document(_passport(), today=TODAY, policy=DPRI)
    assert decision.accepted and decision.reasons == ()


@pytest.mark.parametrize(
    ("overrides", "reasons"),
    [
        ({"expiry_date": date(2026, 11, 26)}, ("expired",)),
        ({"expiry_date": date(2027, 5, 28)}, ("validity_too_short",)),
        ({"expiry_date": date(2036, 11, 28)}, ("not_yet_valid",)),
        ({"birth_date": date(2026, 11, 27), "expiry_date": date(2031, 1, 1)}, ()),
        ({"document_code": "PD"}, ("document_type_not_allowed",)),
        ({"nationality": "MYS", "issuing_state": "MYS"}, ("nationality_not_allowed",)),
        ({"issuing_state": "MYS"}, ("issuing_state_mismatch",)),
        ({"nationality": "MYS", "issuing_state": "IDN"}, ("nationality_not_allowed", "issuing_state_mismatch")),
    ],
)
def test_reasons(overrides: dict, reasons: tuple[str, ...]) -> None:
    decision = check_document(_passport(**overrides), today=TODAY, policy=DPRI)
    assert decision.reasons == reasons
    assert decision.accepted is (reasons == ())


def test_expiry_day_itself_is_still_valid_with_a_zero_margin() -> None:
    mrz = _passport(expiry_date=TODAY)
    assert check_document(mrz, today=TODAY, policy=DocumentPolicy(min_validity_days=0)).accepted


def test_six_months_boundary() -> None:
    ok = _passport(expiry_date=date(2027, 5, 29))  # 183 days ahead
    assert check_document(ok, today=TODAY, policy=DPRI).accepted


def test_failed_check_digit_is_refused() -> None:
    line1, line2 = compose_td3(
        surname="SANTOSO", given_names="BUDI", document_number="C1234567", nationality="IDN",
        birth_date=date(1985, 3, 14), sex="M", expiry_date=date(2030, 5, 1),
    )
    mrz = parse_mrz((line1, line2[:9] + str((int(line2[9]) + 1) % 10) + line2[10:]), today=TODAY)
    assert check_document(mrz, today=TODAY, policy=DPRI).reasons == ("check_digit_failed",)


def test_unknown_expiry_is_treated_as_expired() -> None:
    mrz = _passport(expiry_date=None)
    assert "expired" in check_document(mrz, today=TODAY, policy=DPRI).reasons


def test_policy_is_configurable() -> None:
    """A gate opened to foreign ID cards with any issuer, and a 30-day margin."""
    lines = compose_td1(
        surname="TAN", given_names="MEI", document_number="S1234567D", nationality="SGP",
        birth_date=date(1990, 2, 2), sex="F", expiry_date=date(2027, 1, 15), issuing_state="UNO",
    )
    mrz = parse_mrz(lines, today=TODAY)
    assert not check_document(mrz, today=TODAY, policy=DPRI).accepted
    open_policy = DocumentPolicy(
        allowed_document_codes=("I",), allowed_nationalities=(), min_validity_days=30,
        require_issuing_state_match=False,
    )
    assert check_document(mrz, today=TODAY, policy=open_policy).accepted


def test_policy_rejects_unknown_settings() -> None:
    with pytest.raises(ValueError):
        DocumentPolicy(min_validity=3)  # type: ignore[call-arg]
