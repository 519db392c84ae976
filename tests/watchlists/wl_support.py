"""Helpers shared by the watchlists tests (a plain module: no fixtures, nothing collected)."""

from __future__ import annotations

from dataclasses import dataclass, field

import central.watchlists.models  # noqa: F401  (the tables join Base.metadata before create_all)
from central.db import Database
from central.services.audit import Actor
from protocol.keys import generate_keypair

NOW_S = 1_790_000_000.0
NOW_MS = int(NOW_S * 1000)
CENTRAL_KEY = generate_keypair()
SUPERVISOR = Actor(username="sup-1", role="supervisor", ip="10.0.0.5")

HEADER = "list,document_number,surname,given_names,birth_date,nationality,sex,agency,valid_from,valid_until,reason\n"
ROWS = [
    "pencegahan,A1234567,SANTOSO,BUDI,1985-01-01,IDN,M,KPK,2024-01-01,2030-12-31,court order 12\n",
    "penangkalan,P9876543,SMITH,JOHN,1970,GBR,M,BNN,,,narcotics\n",
    "interpol_sltd,C5550001,,,,,,INTERPOL,,,stolen blank passport\n",
]


def make_database(url: str) -> Database:
    database = Database(url)
    database.create_all()
    return database


def entry_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "list": "pencegahan", "document_numbers": ["X1234567"], "surname": "RAHAYU", "given_names": "SITI",
        "birth_date": "1990-05-17", "nationality": "IDN", "sex": "F", "agency": "Kejaksaan Agung",
        "interested_party": "Kejari Jakarta Selatan", "reason": "tax case", "valid_from": "2025-01-01",
        "valid_until": "2027-01-01",
    }
    data.update(overrides)
    return data


@dataclass
class FakeBroker:
    """Records publishes and keeps retained messages the way a broker does (empty = delete)."""

    sent: list[tuple[str, bytes, bool]] = field(default_factory=list)
    retained: dict[str, bytes] = field(default_factory=dict)

    def publish(self, topic: str, payload: bytes, retain: bool) -> None:
        self.sent.append((topic, payload, retain))
        if retain:
            if payload:
                self.retained[topic] = payload
            else:
                self.retained.pop(topic, None)

    def take(self) -> list[tuple[str, bytes]]:
        """Everything published since the last take (what a subscribed gate would get)."""
        out = [(t, p) for t, p, _r in self.sent]
        self.sent.clear()
        return out
