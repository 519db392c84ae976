"""Gate enrolment fetch latency against a local central (waitress, SQLite), the way a gate asks.

Enrols N synthetic documents (face template + ISO fingerprint record), registers a gate, then
times ``EnrolmentClient.fetch`` over real HTTP on loopback: uncached fetches of random documents
(signature made, verified by central, answer signed, verified by the gate) and cached repeats.
Budget: 300 ms (``edge.gate.enrolment_client.DEFAULT_BUDGET_S``). Loopback hides the network:
add the airport LAN round trip (a few ms) to these figures.

    .venv/bin/python -m bench.enrolments.fetch_latency [--enrolments 2000] [--fetches 300]
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def _iso_record(rng: random.Random, minutiae: int = 40) -> bytes:
    length = 24 + 4 + 6 * minutiae + 2
    out = bytearray(struct.pack(">4s4sIHHHHHBB", b"FMR\x00", b" 20\x00", length, 0, 400, 500, 197, 197, 1, 0))
    out += struct.pack(">BBBB", 2, 0, 80, minutiae)
    for _ in range(minutiae):
        out += struct.pack(">HHBB", (0b01 << 14) | rng.randrange(400), rng.randrange(500), rng.randrange(256), 70)
    return bytes(out + b"\x00\x00")


def _enrolment(i: int, rng: random.Random, nprng: np.random.Generator) -> dict[str, object]:
    face = nprng.standard_normal(128).astype("<f4")
    face /= np.linalg.norm(face)
    return {
        "document_number": f"B{i:07d}", "issuing_state": "IDN", "nationality": "IDN", "sex": "F",
        "given_names": "SITI", "surname": "RAHAYU", "birth_date": "1990-05-17", "expiry_date": "2031-01-01",
        "face_template": base64.b64encode(face.astype("<f4").tobytes()).decode(), "face_model": "face-sface",
        "face_model_version": "2021dec", "fingerprint_iso": base64.b64encode(_iso_record(rng)).decode(),
        "finger_position": 2,
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrolments", type=int, default=2000)
    parser.add_argument("--fetches", type=int, default=300)
    args = parser.parse_args(argv)

    import central.enrolments.models  # noqa: F401
    from central.app import create_app
    from central.cli import http_server
    from central.db import Database
    from central.enrolments import service, views
    from central.services.audit import Actor
    from central.services.gates import add_gate
    from central.settings import CentralSettings
    from edge.gate.enrolment_client import DEFAULT_BUDGET_S, EnrolmentClient
    from protocol.keys import generate_keypair

    rng, nprng = random.Random(7), np.random.default_rng(7)
    central_key, gate_key = generate_keypair(), generate_keypair()
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'central.db'}")
        database.create_all()
        with database.session() as s:
            add_gate(s, "gt-bench-01", public_key_b64=gate_key.public.b64, direction="departure")
            items = [(i, _enrolment(i, rng, nprng)) for i in range(args.enrolments)]
            service.import_items(s, items, Actor(username="bench", role="cli"), source_name="bench")
            s.commit()
        app = create_app(CentralSettings(demo_mode=True, database_url=database.url), database=database,
                         central_key=central_key, extensions=[views.init_app])
        server = http_server(app, host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.effective_port}"
        client = EnrolmentClient(url, gate_id="gt-bench-01", gate_key=gate_key, central_key=central_key.public,
                                 budget_s=DEFAULT_BUDGET_S)
        client.fetch("B0000000", "IDN")  # warm-up: connection setup, imports, SQLite page cache
        client.clear()
        uncached, statuses = [], {}
        for _ in range(args.fetches):
            number = f"B{rng.randrange(args.enrolments):07d}"
            client.forget(number, "IDN")
            started = time.perf_counter()
            result = client.fetch(number, "IDN")
            uncached.append((time.perf_counter() - started) * 1000)
            statuses[result.status] = statuses.get(result.status, 0) + 1
        cached = []
        for _ in range(args.fetches):
            client.fetch("B0000001", "IDN")
            started = time.perf_counter()
            result = client.fetch("B0000001", "IDN")
            cached.append((time.perf_counter() - started) * 1000)
        # The server thread is a daemon and dies with the process; closing it from here races its loop.
        database.dispose()

    command = "OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python -m bench.enrolments.fetch_latency " + " ".join(
        sys.argv[1:] if argv is None else argv)
    print(f"command: {command.strip()}")
    print(f"enrolments: {args.enrolments}, fetches: {args.fetches}, budget: {DEFAULT_BUDGET_S * 1000:.0f} ms, "
          f"statuses: {statuses}")
    print(f"uncached fetch (HTTP loopback, both signatures): p50 {statistics.median(uncached):.2f} ms, "
          f"p99 {_pct(uncached, 0.99):.2f} ms, max {max(uncached):.2f} ms, "
          f"over budget {sum(v > DEFAULT_BUDGET_S * 1000 for v in uncached)}")
    print(f"cached fetch: p50 {statistics.median(cached) * 1000:.1f} us, p99 {_pct(cached, 0.99) * 1000:.1f} us")
    from bench.figures import emit

    emit("enrolments.fetch.uncached_p99_ms", _pct(uncached, 0.99), "ms", command=command.strip(), trials=len(uncached))
    emit("enrolments.fetch.cached_p99_ms", _pct(cached, 0.99), "ms", command=command.strip(), trials=len(cached))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
