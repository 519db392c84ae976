"""A person confirmed by a CCTV operator and flagged "to every gate": central publishes the flags,
a gate verifies them, and its screening holds a traveller whose document only resembles the
flagged entry (similar becomes identical) until the flag expires."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from cctv_support import NOW_MS

import central.cctv.models  # noqa: F401
import central.watchlists.models  # noqa: F401
from central.cctv import publisher
from central.cctv.models import Camera, CctvAlarmRecord, PersonFlagRecord
from central.db import Database
from central.models import from_ms
from edge.gate.recognition import ScreenerWatchlist
from edge.link.flags_sync import PersonFlagsSync
from edge.watchlist import Screener
from edge.watchlist.model import WatchlistEntry
from protocol import TravelerDocument
from protocol.cctv import PERSON_FLAGS, gate_acl_lines
from protocol.keys import generate_keypair

CENTRAL = generate_keypair()
ENTRY = WatchlistEntry(entry_id="E-JOKO", list="pencegahan", document_numbers=("C9876543",), surname="PRANOTO",
                       given_names="JOKO", birth_date="1979-08-17", nationality="IDN", sex="M")
NAMESAKE = TravelerDocument(document_number="B1111111", document_type="P", issuing_state="IDN", expiry_date=None,
                            given_names="JOKO", surname="PRANOTO", sex="M", birth_date=None, nationality="IDN")


class Broker:
    def __init__(self) -> None:
        self.retained: dict[str, bytes] = {}

    def publish(self, topic: str, payload: bytes, retain: bool) -> None:
        self.retained[topic] = payload


def publish_flags(tmp_path, *, hours: float = 24, now_ms: int = NOW_MS, key=CENTRAL) -> bytes:
    database = Database(f"sqlite:///{tmp_path / f'c{now_ms}.db'}")
    database.create_all()
    broker = Broker()
    with database.session() as session:
        session.add(Camera(id="cam-a", public_key=generate_keypair().public.b64))
        session.add(CctvAlarmRecord(id=1, message_id="m" * 32, alarm_id="a1", camera_id="cam-a", seq=1, track_id=1,
                                    entry_id="E-JOKO", list_name="pencegahan", template_id="t1", score=0.7,
                                    threshold=0.5, gallery_size=3, details={}, seen_at=from_ms(NOW_MS)))
        session.flush()
        session.add(PersonFlagRecord(id="f" * 32, alarm_id=1, entry_id="E-JOKO", list_name="pencegahan",
                                     camera_id="cam-a", case_id=4, raised_by="op-1", raised_at=from_ms(NOW_MS),
                                     expires_at=from_ms(NOW_MS) + timedelta(hours=hours)))
        session.flush()
        assert publisher.publish_flags(session, key=key, publish=broker.publish, now_ms=now_ms) == 1
    database.dispose()
    return broker.retained[PERSON_FLAGS]


def test_a_flagged_namesake_is_held_at_the_gate_until_the_flag_expires(tmp_path) -> None:
    clock = {"now": NOW_MS}
    flags = PersonFlagsSync(CENTRAL.public, clock_ms=lambda: clock["now"])
    gate = ScreenerWatchlist(Screener([ENTRY]), version=9, escalate=flags.escalate)
    assert gate.screen(NAMESAKE, today=date(2026, 1, 1)).level == "similar"  # not flagged: the traveller walks on
    assert flags.handle(PERSON_FLAGS, publish_flags(tmp_path, hours=2))
    held = gate.screen(NAMESAKE, today=date(2026, 1, 1))
    assert (held.level, held.entry_id) == ("identical", "E-JOKO")  # cekal identik: the gate holds
    clock["now"] = NOW_MS + 3 * 3600 * 1000
    assert gate.screen(NAMESAKE, today=date(2026, 1, 1)).level == "similar"
    stranger = NAMESAKE.model_copy(update={"surname": "WIDODO", "given_names": "ANA"})
    clock["now"] = NOW_MS
    assert gate.screen(stranger, today=date(2026, 1, 1)).level == "none"  # a flag never invents a hit


def test_forged_and_older_flag_publications_are_refused(tmp_path) -> None:
    flags = PersonFlagsSync(CENTRAL.public, clock_ms=lambda: NOW_MS)
    assert not flags.handle(PERSON_FLAGS, publish_flags(tmp_path, key=generate_keypair()))
    assert not flags.handle(PERSON_FLAGS, b"garbage")
    assert flags.handle(PERSON_FLAGS, publish_flags(tmp_path, now_ms=NOW_MS))
    assert not flags.handle(PERSON_FLAGS, publish_flags(tmp_path, now_ms=NOW_MS - 60_000))
    assert flags.flagged() == {"E-JOKO"} and flags.counts["rejected"] == 2 and flags.counts["stale_ignored"] == 1


@pytest.mark.parametrize("acl", [gate_acl_lines()])
def test_gates_may_read_the_flags(acl: str) -> None:
    assert acl == "topic read autogate/v1/cctv/flags\n"
