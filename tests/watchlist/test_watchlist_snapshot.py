"""Snapshots, deltas and the gate's local copy on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.watchlist.errors import DeltaConflict, DeltaVersionMismatch, SnapshotError
from edge.watchlist.model import WatchlistEntry
from edge.watchlist.snapshot import (
    WatchlistDelta,
    WatchlistSnapshot,
    apply_delta,
    load_snapshot,
    make_delta,
    save_snapshot,
)


def e(entry_id: str, surname: str = "SURNAME") -> WatchlistEntry:
    return WatchlistEntry(entry_id=entry_id, list="penangkalan", surname=surname, nationality="MYS")


def test_snapshot_is_canonical_whatever_the_input_order() -> None:
    a = WatchlistSnapshot(version=1, entries=(e("b"), e("a")))
    b = WatchlistSnapshot(version=1, entries=(e("a"), e("b")))
    assert [x.entry_id for x in a.entries] == ["a", "b"]
    assert a.canonical_json() == b.canonical_json()


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        WatchlistSnapshot(version=1, entries=(e("a"), e("a")))


def test_apply_delta_adds_updates_removes() -> None:
    base = WatchlistSnapshot(version=3, entries=(e("a"), e("b")))
    delta = WatchlistDelta(base_version=3, version=4, added=(e("c"),), updated=(e("a", "NEW"),), removed=("b",))
    after = apply_delta(base, delta)
    assert after.version == 4
    assert [(x.entry_id, x.surname) for x in after.entries] == [("a", "NEW"), ("c", "SURNAME")]
    assert make_delta(base, after) == delta


def test_delta_on_another_version_is_refused() -> None:
    base = WatchlistSnapshot(version=3, entries=())
    with pytest.raises(DeltaVersionMismatch, match="snapshot version 3"):
        apply_delta(base, WatchlistDelta(base_version=2, version=4))


@pytest.mark.parametrize(
    "delta",
    [
        WatchlistDelta(base_version=1, version=2, added=(e("a"),)),
        WatchlistDelta(base_version=1, version=2, updated=(e("zz"),)),
        WatchlistDelta(base_version=1, version=2, removed=("zz",)),
    ],
)
def test_conflicting_delta_is_refused(delta: WatchlistDelta) -> None:
    with pytest.raises(DeltaConflict):
        apply_delta(WatchlistSnapshot(version=1, entries=(e("a"),)), delta)


def test_delta_must_move_forward_and_name_each_entry_once() -> None:
    with pytest.raises(ValueError):
        WatchlistDelta(base_version=2, version=2)
    with pytest.raises(ValueError):
        WatchlistDelta(base_version=1, version=2, added=(e("a"),), removed=("a",))


def test_save_and_load_local_copy(tmp_path: Path) -> None:
    path = tmp_path / "gate" / "watchlist.json"
    snap = WatchlistSnapshot(version=7, entries=(e("a"), e("b")))
    save_snapshot(snap, path)
    save_snapshot(WatchlistSnapshot(version=8, entries=(e("a"),)), path)  # replaces atomically
    assert load_snapshot(path).version == 8
    assert sorted(p.name for p in path.parent.iterdir()) == ["watchlist.json"]  # no temp left behind
    assert path.read_bytes() == WatchlistSnapshot(version=8, entries=(e("a"),)).canonical_json()


def test_missing_or_corrupt_local_copy_raises_snapshot_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="cannot read"):
        load_snapshot(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "entries": [{"entry_id": "x"}]}')
    with pytest.raises(SnapshotError, match="invalid"):
        load_snapshot(bad)


def test_local_copy_survives_restart_and_refuses_a_gap(tmp_path: Path) -> None:
    """The gate screens from its own file: a restart must give the same answers at the same version."""
    from datetime import date

    from edge.watchlist.local import LocalWatchlist
    from edge.watchlist.model import ScreeningQuery

    path = tmp_path / "watchlist.json"
    listed = WatchlistEntry(entry_id="S1", list="interpol_sltd", document_numbers=("X999",))
    local = LocalWatchlist(WatchlistSnapshot(version=1), path=path)
    local.replace(WatchlistSnapshot(version=1))
    local.apply(WatchlistDelta(base_version=1, version=2, added=(listed,)))
    query = ScreeningQuery(id="q", document_number="X999")
    restarted = LocalWatchlist.load(path)
    assert restarted.version == 2
    assert restarted.screen(query, today=date(2026, 1, 1)).level == "identical"
    with pytest.raises(DeltaVersionMismatch):
        restarted.apply(WatchlistDelta(base_version=5, version=6, removed=("S1",)))
    assert restarted.version == 2 and LocalWatchlist.load(path).version == 2
