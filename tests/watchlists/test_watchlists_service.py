"""Central watchlist service: one audited version per action, snapshots and deltas from the log,
CSV import all-or-nothing. Runs on SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from wl_support import HEADER, ROWS, SUPERVISOR, entry_data, make_database

from central.db import Database
from central.models import AuditEntry
from central.watchlists import csvimport, service
from central.watchlists.errors import (
    EntryExists,
    EntryNotFound,
    EntryRejected,
    ImportRejected,
)
from central.watchlists.models import (
    WatchlistChange,
    WatchlistEntryRow,
    WatchlistVersion,
)
from edge.watchlist.snapshot import apply_delta


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = make_database(database_url)
    yield database
    database.dispose()


def _audit_actions(session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_each_action_makes_one_audited_version_and_the_log_rebuilds_every_version(db: Database) -> None:
    """Without this, a change could reach gates unversioned, or a delta could disagree with the list."""
    with db.session() as s:
        entry = service.build_entry(entry_data())
        assert service.add_entry(s, entry, SUPERVISOR).version == 1
        s.commit()
        assert service.update_entry(s, entry.entry_id, {"reason": "tax case, extended"}, SUPERVISOR).version == 2
        s.commit()
        assert csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="kpk.csv").version == 3
        s.commit()
        assert service.deactivate_entry(s, entry.entry_id, SUPERVISOR, "lifted").version == 4
        s.commit()

        assert service.current_version(s) == 4
        assert _audit_actions(s) == ["watchlist_add", "watchlist_update", "watchlist_import", "watchlist_deactivate"]
        audit = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert {a.username for a in audit} == {"sup-1"} and audit[0].details["version"] == 1
        ops = s.execute(select(WatchlistChange.version, WatchlistChange.op).order_by(WatchlistChange.id)).all()
        assert [tuple(o) for o in ops] == [(1, "add"), (2, "update"), (3, "add"), (3, "add"), (3, "add"), (4, "remove")]

        snapshots = {v: service.snapshot_at(s, v) for v in range(5)}
        assert [len(snapshots[v].entries) for v in range(5)] == [0, 1, 1, 4, 3]
        assert snapshots[4] == service.current_snapshot(s)
        for row in s.scalars(select(WatchlistVersion)):
            assert row.sha256 == service.snapshot_sha256(snapshots[row.version])
            assert row.entries == len(snapshots[row.version].entries)
        for base in range(4):
            for version in range(base + 1, 5):
                assert apply_delta(snapshots[base], service.delta_between(s, base, version)) == snapshots[version]
        # the deactivated row stays, inactive, with its history
        row = s.get(WatchlistEntryRow, entry.entry_id)
        assert row is not None and row.active is False and row.version == 4


def test_no_change_no_version_and_duplicates_refused(db: Database) -> None:
    with db.session() as s:
        entry = service.build_entry(entry_data())
        service.add_entry(s, entry, SUPERVISOR)
        s.commit()
        assert service.update_entry(s, entry.entry_id, {"reason": "tax case"}, SUPERVISOR).version is None
        with pytest.raises(EntryExists):
            service.add_entry(s, entry, SUPERVISOR)
        s.rollback()
        assert service.deactivate_entry(s, entry.entry_id, SUPERVISOR).version == 2
        s.commit()
        assert service.deactivate_entry(s, entry.entry_id, SUPERVISOR).version is None
        with pytest.raises(EntryNotFound):
            service.update_entry(s, entry.entry_id, {"reason": "x"}, SUPERVISOR)
        with pytest.raises(EntryNotFound):
            service.get_row(s, "nope")
        # added again: same id, active again, a new version with an "add"
        assert service.add_entry(s, entry, SUPERVISOR).version == 3
        s.commit()
        assert s.get(WatchlistEntryRow, entry.entry_id).active is True
        assert service.delta_between(s, 2, 3).added[0].entry_id == entry.entry_id


def test_csv_import_is_all_or_nothing_with_row_and_column(db: Database) -> None:
    """A half-imported alert file would leave gates screening with a list nobody approved."""
    bad = HEADER + ROWS[0] + "penangkalan,P1,DOE,JANE,1980-13-01,GBR,F,BNN,,,x\n" + ROWS[1] + "cekal,Z1,A,B,,,,,,,\n"
    with db.session() as s:
        with pytest.raises(ImportRejected) as caught:
            csvimport.import_csv(s, bad, SUPERVISOR, source="bad.csv")
        s.commit()  # only the audit of the refusal
        assert [(r, c) for r, c, _m in caught.value.errors] == [(3, "birth_date"), (5, "list")]
        assert s.scalar(select(func.count()).select_from(WatchlistEntryRow)) == 0
        assert service.current_version(s) == 0
        assert _audit_actions(s) == ["watchlist_import_rejected"]


def test_csv_header_and_bounds_errors_are_reported(db: Database) -> None:
    with db.session() as s:
        with pytest.raises(ImportRejected) as caught:
            csvimport.import_csv(s, "list,surname\npencegahan,X\n", SUPERVISOR, source="h.csv")
        assert caught.value.errors[0][:2] == (1, "(header)")
        long_reason = HEADER + ROWS[0] + "penangkalan,P1,DOE,JANE,1980,GBR,F,BNN,,," + "r" * 2001 + "\n"
        with pytest.raises(ImportRejected) as caught:
            csvimport.import_csv(s, long_reason, SUPERVISOR, source="long.csv")
        assert [(r, c) for r, c, _m in caught.value.errors] == [(3, "reason")]


def test_import_is_one_version_reimport_is_none_replace_deactivates(db: Database) -> None:
    with db.session() as s:
        first = csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv")
        s.commit()
        assert first.version == 1 and len(first.added) == 3
        again = csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv")
        s.commit()
        assert again.version is None and again.unchanged == 3
        changed = ROWS[0].replace("court order 12", "court order 13")
        result = csvimport.import_csv(s, HEADER + changed, SUPERVISOR, source="b.csv", replace=True)
        s.commit()
        # the pencegahan row changed; nothing else of that list remained; other lists untouched
        assert result.version == 2 and len(result.updated) == 1 and result.removed == ()
        extra = "pencegahan,B7777777,WIJAYA,ANDI,1975,IDN,M,KPK,,,fraud\n"
        result = csvimport.import_csv(s, HEADER + extra, SUPERVISOR, source="c.csv", replace=True)
        s.commit()
        assert result.version == 3 and len(result.added) == 1 and len(result.removed) == 1
        assert len(service.current_snapshot(s).entries) == 3


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"list": "cekal"}, "list"),
        ({"birth_date": "1990-02-30"}, "birth_date"),
        ({"sex": "Q"}, "sex"),
        ({"document_numbers": [], "surname": "", "given_names": ""}, "(entry)"),
        ({"valid_from": "2027-01-01", "valid_until": "2025-01-01"}, "(entry)"),
        ({"surname": "A" * 121}, "surname"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_build_entry_names_the_bad_field(override: dict, field: str) -> None:
    with pytest.raises(EntryRejected) as caught:
        service.build_entry(entry_data(**override))
    assert caught.value.field == field


def test_search_by_name_document_and_list(db: Database) -> None:
    with db.session() as s:
        csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv")
        s.commit()
        assert [r.surname for r in service.search_entries(s, text="santo")] == ["SANTOSO"]
        assert [r.list_name for r in service.search_entries(s, text="p9876")] == ["penangkalan"]
        assert len(service.search_entries(s, list_name="interpol_sltd")) == 1
        assert service.search_entries(s, text="100%_") == []
