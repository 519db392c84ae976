"""The gate's durable outbox: every event is on disk, sealed, before anyone tries to send it.

MQTT at QoS 1 only promises delivery while the process lives (paho keeps its session in memory,
STYLE.md §3.3). The outbox closes that gap: :meth:`Outbox.append` assigns the next per-gate
sequence number, seals the envelope once and commits it to SQLite (WAL, ``synchronous=FULL``)
before returning, so an event written before the process is killed is still there after the
restart. The sealed bytes are what is stored, so a resend after a crash is byte-identical (same
message id, seq and signature) and central can drop the duplicate by message id.

Rows are sent in seq order and cleared only by :meth:`mark_delivered`, which the MQTT link calls
on that row's PUBACK. Delivered rows are kept for ``retention`` so an investigator can see what
left the gate, then :meth:`compact` deletes them. The sequence counter lives in its own table, so
compaction never lets a seq be reused.

Thread-safe: paho's callbacks, the sender thread and the gate runtime share one instance.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from edge.link.errors import OutboxClosed, OutboxError, OutboxOwnedByAnotherGate
from protocol.envelope import new_message_id, seal
from protocol.keys import KeyPair

log = logging.getLogger(__name__)

ClockMs = Callable[[], int]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq             INTEGER PRIMARY KEY,
    message_id      TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    envelope        BLOB    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    delivered_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_undelivered ON outbox (seq) WHERE delivered_at_ms IS NULL;
CREATE TABLE IF NOT EXISTS outbox_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS executed_commands (
    command_id    TEXT PRIMARY KEY,
    expires_at_ms INTEGER NOT NULL
);
"""


def wall_clock_ms() -> int:
    """Milliseconds since the epoch: envelopes carry wall time, which central checks."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class OutboxRow:
    """One sealed message: ``envelope`` is exactly the bytes published, every time."""

    seq: int
    message_id: str
    kind: str
    envelope: bytes
    created_at_ms: int
    delivered_at_ms: int | None = None

    @property
    def is_delivered(self) -> bool:
        return self.delivered_at_ms is not None


class Outbox:
    """A per-gate, append-only, durable queue of sealed envelopes in one SQLite file.

    :param path: the database file (created with its folder); ``:memory:`` is refused because
        an outbox that does not survive the process is no outbox.
    :param sender: the gate id that signs every row; a file created by another gate is refused.
    :param key: the gate's signing key.
    :param clock_ms: wall clock in epoch milliseconds (``sent_at_ms`` of each envelope).
    :param retention_ms: how long delivered rows are kept before :meth:`compact` deletes them
        (default 7 days).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        sender: str,
        key: KeyPair,
        clock_ms: ClockMs = wall_clock_ms,
        retention_ms: int = 7 * 24 * 3600 * 1000,
        requeue_window_rows: int = 500,
    ) -> None:
        if str(path) == ":memory:":
            raise ValueError("an in-memory outbox is not durable; give a file path")
        if retention_ms < 0:
            raise ValueError("retention_ms must be >= 0")
        self.path = Path(path)
        self.sender = sender
        self._key = key
        self._clock_ms = clock_ms
        self.retention_ms = retention_ms
        if requeue_window_rows < 1:
            raise ValueError("requeue_window_rows must be >= 1")
        self.requeue_window_rows = requeue_window_rows
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: every write below opens its own explicit transaction.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"outbox {self.path}: cannot open: {exc}") from exc
        try:
            self._setup()
        except sqlite3.Error as exc:
            self._db.close()
            raise OutboxError(f"outbox {self.path}: cannot initialise: {exc}") from exc
        except OutboxOwnedByAnotherGate:
            self._db.close()
            raise

    def _setup(self) -> None:
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"journal_mode is {mode!r}, WAL is required")
        # FULL: the WAL is fsynced at every commit, so a committed append survives power loss,
        # not only a killed process.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT value FROM outbox_meta WHERE name = 'sender'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO outbox_meta (name, value) VALUES ('sender', ?)", (self.sender,))
                self._db.execute("INSERT OR IGNORE INTO outbox_meta (name, value) VALUES ('last_seq', '0')")
            elif row[0] != self.sender:
                raise OutboxOwnedByAnotherGate(f"outbox {self.path} belongs to gate {row[0]!r}, not {self.sender!r}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ writing

    def append(self, payload: BaseModel) -> OutboxRow:
        """Seal *payload* with the next seq and commit it; returns once it is on disk."""
        now_ms = self._clock_ms()
        message_id = new_message_id()
        kind = str(getattr(payload, "kind", type(payload).__name__))
        with self._lock:
            self._check_open()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    seq = self._read_last_seq() + 1
                    envelope = seal(
                        payload, sender=self.sender, key=self._key, seq=seq, now_ms=now_ms, message_id=message_id
                    )
                    self._db.execute(
                        "INSERT INTO outbox (seq, message_id, kind, envelope, created_at_ms) VALUES (?, ?, ?, ?, ?)",
                        (seq, message_id, kind, envelope, now_ms),
                    )
                    self._db.execute("UPDATE outbox_meta SET value = ? WHERE name = 'last_seq'", (str(seq),))
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: append failed: {exc}") from exc
        log.debug("outbox append gate_id=%s seq=%d event_id=%s kind=%s", self.sender, seq, message_id, kind)
        return OutboxRow(seq=seq, message_id=message_id, kind=kind, envelope=envelope, created_at_ms=now_ms)

    def mark_delivered(self, seq: int) -> bool:
        """Record that the broker acknowledged row *seq*; False if it was unknown or already marked."""
        return self.mark_delivered_many([seq]) == 1

    def mark_delivered_many(self, seqs: list[int]) -> int:
        """Mark several acknowledged rows in one commit (one fsync); returns how many changed.

        A lost mark only causes a resend that central drops by message id, so batching PUBACKs
        trades nothing in safety for far fewer fsyncs under load.
        """
        if not seqs:
            return 0
        now_ms = self._clock_ms()
        with self._lock:
            self._check_open()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    changed = 0
                    for seq in seqs:
                        cursor = self._db.execute(
                            "UPDATE outbox SET delivered_at_ms = ? WHERE seq = ? AND delivered_at_ms IS NULL",
                            (now_ms, seq),
                        )
                        changed += cursor.rowcount
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: mark_delivered({seqs[:3]}...) failed: {exc}") from exc
        return changed

    def requeue(self, from_seq: int, to_seq: int) -> tuple[int, int]:
        """Mark delivered rows *from_seq*..*to_seq* undelivered again, so they are sent again.

        Central asks for this when it never received them (a broker lost them after its PUBACK
        to us). The stored bytes are resent unchanged, so central recognises them by message id.
        Returns (rows requeued, rows of the range no longer stored: compacted or never written).
        """
        if from_seq < 1 or to_seq < from_seq:
            raise ValueError(f"bad resend range {from_seq}..{to_seq}")
        requeued = stored = 0
        # In windows of requeue_window_rows, each its own short transaction: a range of
        # thousands never holds the outbox lock (and the gate's own appends) for long.
        start = from_seq
        while start <= to_seq:
            end = min(to_seq, start + self.requeue_window_rows - 1)
            window_requeued, window_stored = self._requeue_window(start, end)
            requeued += window_requeued
            stored += window_stored
            start = end + 1
        missing = (to_seq - from_seq + 1) - stored
        log.info(
            "outbox requeue gate_id=%s seqs=%d..%d requeued=%d missing=%d", self.sender, from_seq, to_seq, requeued, missing
        )
        return int(requeued), missing

    def _requeue_window(self, from_seq: int, to_seq: int) -> tuple[int, int]:
        with self._lock:
            self._check_open()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    requeued = self._db.execute(
                        "UPDATE outbox SET delivered_at_ms = NULL WHERE seq BETWEEN ? AND ? AND delivered_at_ms IS NOT NULL",
                        (from_seq, to_seq),
                    ).rowcount
                    stored = self._db.execute(
                        "SELECT COUNT(*) FROM outbox WHERE seq BETWEEN ? AND ?", (from_seq, to_seq)
                    ).fetchone()[0]
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: requeue {from_seq}..{to_seq} failed: {exc}") from exc
        return int(requeued), int(stored)

    def compact(self, now_ms: int | None = None) -> int:
        """Delete delivered rows older than the retention period; returns how many went."""
        cutoff = (self._clock_ms() if now_ms is None else now_ms) - self.retention_ms
        with self._lock:
            self._check_open()
            try:
                cursor = self._db.execute(
                    "DELETE FROM outbox WHERE delivered_at_ms IS NOT NULL AND delivered_at_ms <= ?", (cutoff,)
                )
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: compaction failed: {exc}") from exc
        if cursor.rowcount:
            log.info("outbox compacted gate_id=%s rows=%d", self.sender, cursor.rowcount)
        return cursor.rowcount

    def remember_command(self, command_id: str, expires_at_ms: int, now_ms: int) -> bool:
        """Record that a command is being executed; False if it already was (a replay).

        Kept in the same durable file as the outbox, so a command captured off the broker cannot
        be replayed after a gate restart either. Ids are forgotten once their command expired:
        an expired command is refused on its expiry alone.
        """
        with self._lock:
            self._check_open()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.execute("DELETE FROM executed_commands WHERE expires_at_ms < ?", (now_ms,))
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO executed_commands (command_id, expires_at_ms) VALUES (?, ?)",
                        (command_id, expires_at_ms),
                    )
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: cannot record command {command_id}: {exc}") from exc
            return cursor.rowcount == 1

    # ------------------------------------------------------------------ reading

    def pending(self, limit: int = 100, *, after_seq: int = 0) -> list[OutboxRow]:
        """Undelivered rows with seq > *after_seq*, oldest first, at most *limit*."""
        if limit < 1:
            return []
        return self._rows(
            "SELECT seq, message_id, kind, envelope, created_at_ms, delivered_at_ms FROM outbox "
            "WHERE delivered_at_ms IS NULL AND seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )

    def rows(self) -> list[OutboxRow]:
        """Every row still stored, delivered or not, in seq order (for audits and tests)."""
        return self._rows(
            "SELECT seq, message_id, kind, envelope, created_at_ms, delivered_at_ms FROM outbox ORDER BY seq", ()
        )

    @property
    def depth(self) -> int:
        """How many rows wait for their PUBACK."""
        with self._lock:
            self._check_open()
            return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at_ms IS NULL").fetchone()[0])

    @property
    def last_seq(self) -> int:
        """The highest seq ever assigned (0 for a new outbox); never goes down, even after compaction."""
        with self._lock:
            self._check_open()
            return self._read_last_seq()

    @property
    def journal_mode(self) -> str:
        with self._lock:
            self._check_open()
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def _rows(self, sql: str, params: tuple[object, ...]) -> list[OutboxRow]:
        with self._lock:
            self._check_open()
            try:
                fetched = self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: read failed: {exc}") from exc
        return [
            OutboxRow(
                seq=r[0], message_id=r[1], kind=r[2], envelope=bytes(r[3]), created_at_ms=r[4], delivered_at_ms=r[5]
            )
            for r in fetched
        ]

    def _read_last_seq(self) -> int:
        row = self._db.execute("SELECT value FROM outbox_meta WHERE name = 'last_seq'").fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ lifecycle

    def _check_open(self) -> None:
        if self._closed:
            raise OutboxClosed(f"outbox {self.path} is closed")

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the database; idempotent. Undelivered rows stay for the next start."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
