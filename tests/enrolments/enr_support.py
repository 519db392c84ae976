"""Helpers shared by the enrolment tests (a plain module: no fixtures, nothing collected)."""

from __future__ import annotations

import base64
import struct
import uuid
from typing import Any

import numpy as np

import central.enrolments.models  # noqa: F401  (the table joins Base.metadata before create_all)
from central.db import Database
from central.models import User

NOW_S = 1_790_000_000.0
NOW_MS = int(NOW_S * 1000)
GATE_ID = "gt-cgk-d01"  # the gate the conftest registers


def face_b64(seed: int = 1) -> str:
    vector = np.random.default_rng(seed).standard_normal(128).astype("<f4")
    vector /= np.linalg.norm(vector)
    return base64.b64encode(vector.astype("<f4").tobytes()).decode()


def iso_record(minutiae: int = 3, finger_position: int = 2) -> bytes:
    """A valid one-view ISO/IEC 19794-2:2005 record, built by hand from the standard's layout."""
    length = 24 + 4 + 6 * minutiae + 2
    out = bytearray(struct.pack(">4s4sIHHHHHBB", b"FMR\x00", b" 20\x00", length, 0, 300, 400, 197, 197, 1, 0))
    out += struct.pack(">BBBB", finger_position, 0, 80, minutiae)
    for i in range(minutiae):
        out += struct.pack(">HHBB", (0b01 << 14) | (50 + 10 * i), 60 + 10 * i, 16 * i, 70)
    out += b"\x00\x00"
    return bytes(out)


def enrolment(number: str = "X1234567", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "document_number": number, "document_type": "P", "issuing_state": "IDN", "expiry_date": "2030-01-01",
        "given_names": "SITI", "surname": "RAHAYU", "sex": "F", "birth_date": "1990-05-17", "nationality": "IDN",
        "face_template": face_b64(), "face_model": "face-sface", "face_model_version": "2021dec",
        "fingerprint_iso": base64.b64encode(iso_record()).decode(), "finger_position": 2,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def make_database(url: str) -> Database:
    database = Database(url)
    database.create_all()
    return database


def act_as(client: Any, db: Database, role: str) -> dict[str, str]:
    """A session for a new user of *role* (login has its own tests); returns the CSRF header."""
    with db.session() as s:
        user = User(username=f"{role}-{uuid.uuid4().hex[:6]}", role=role, password_hash="x", active=True)
        s.add(user)
        s.commit()
        user_id = user.id
    token = uuid.uuid4().hex
    with client.session_transaction() as session:
        session["user_id"], session["role"], session["csrf_token"] = user_id, role, token
    return {"X-CSRF-Token": token}
