"""Ingest throughput: signed crossing records through the real worker (verify, store, commit) per second.

    .venv/bin/python -m bench.central.ingest_throughput [--n 500] [--postgres URL]

No broker: this measures central's side (Ed25519 verify + one transaction per message, which
is committed, so fsync-bound). Prints the figures and the command, and writes
bench/central/RESULTS.md. ``--postgres`` takes a URL whose database (and search_path schema,
if given) exists; the tables are created there.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from central.db import Database
from central.ingest.worker import Delivery, IngestWorker
from central.services.gates import add_gate
from protocol import CrossingRecord, TravelerDocument, generate_keypair, seal
from protocol.topics import gate_events

TRAVELER = TravelerDocument(
    document_number="X1234567", document_type="P", issuing_state="IDN", expiry_date=date(2030, 1, 1),
    given_names="SITI", surname="RAHAYU", sex="F", birth_date=date(1990, 5, 17), nationality="IDN",
)


def run(url: str, n: int) -> dict[str, float]:
    database = Database(url)
    database.create_all()
    key = generate_keypair()
    gate_id = f"bench-{int(time.time() * 1000) % 10**9}"
    with database.session() as session:
        add_gate(session, gate_id, public_key_b64=key.public.b64, direction="departure")
        session.commit()
    now_ms = int(time.time() * 1000)
    messages = [
        seal(
            CrossingRecord(transaction_id=f"tx-{i}", direction="departure", traveler=TRAVELER,
                           started_at_ms=now_ms - 9000, completed_at_ms=now_ms),
            sender=gate_id, key=key, seq=i + 1, now_ms=now_ms,
        )
        for i in range(n)
    ]
    worker = IngestWorker(database, ack=lambda _d: None)
    topic = gate_events(gate_id)
    started = time.perf_counter()
    for payload in messages:
        worker.process(Delivery(topic, payload))
    elapsed = time.perf_counter() - started
    duplicates_started = time.perf_counter()
    for payload in messages[: n // 5]:
        worker.process(Delivery(topic, payload))
    duplicate_elapsed = time.perf_counter() - duplicates_started
    assert worker.metrics["stored"] == n, worker.metrics.snapshot()
    database.dispose()
    return {
        "messages": n,
        "per_s": n / elapsed,
        "ms_per_message": 1000 * elapsed / n,
        "duplicate_ms_per_message": 1000 * duplicate_elapsed / max(1, n // 5),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--postgres", default=None, help="also run on this PostgreSQL URL")
    args = parser.parse_args()
    command = "python -m bench.central.ingest_throughput " + " ".join(sys.argv[1:])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("SQLite (file, WAL)", run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.n)))
    if args.postgres:
        rows.append(("PostgreSQL 15 (localhost)", run(args.postgres, args.n)))
    lines = [
        "# central ingest throughput",
        "",
        f"Command: `{command}`  ",
        (
            f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}; "
            "shared and loaded while measuring (other engineers' jobs), one worker thread; "
            f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
        ),
        "",
        "| Database | messages | stored/s | ms per message | ms per duplicate |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['messages']:.0f} | {r['per_s']:.0f} | {r['ms_per_message']:.2f} | "
            f"{r['duplicate_ms_per_message']:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    from bench.figures import emit

    for name, r in rows:
        db = "sqlite" if name.startswith("SQLite") else "postgresql"
        emit(f"central.ingest.{db}.messages_per_s", r["per_s"], "messages/s", command=command, trials=r["messages"])
    (Path(__file__).parent / "RESULTS.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
