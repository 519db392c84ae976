"""Synthetic travelers, deterministic from a seed, and a driver that walks them through a gate.

Mostly Indonesian citizens (WNI) with a DPRI: realistic names (many Indonesians have a single
name, which the MRZ carries as the primary identifier only), passport numbers like "X1234567"
or "C1234567", TD3 MRZ lines from ``edge.mrz.compose_td3`` with correct check digits, and birth
and expiry dates. Rates make some travelers foreigners, some documents expired or unreadable, and
some fingers or faces mismatch or unreadable: each traveler carries the sample the simulated
sensor will produce at each attempt (``SimulatedVerifier`` in edge/gate/recognition.py decides
from it).

``GateDriver`` plays the traveler against one gate built on ``SimulatedGateHardware`` and a
``ManualScheduler``: present the passport, walk in, give a finger, look at the camera, walk out
(or back out to the counter), moving the fake clock between steps. A supervisor policy answers
the gate's B4/B5 notifications, so four drivers can run a hall's stream of travelers.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from edge.gate.recognition import PresentedDocument
from edge.gate.runtime import GateRuntime
from edge.hardware.clock import ManualScheduler
from edge.hardware.simulated import SimulatedGateHardware
from edge.link.base import MemoryLink
from edge.mrz import compose_td3
from protocol.messages import Command, CommandAction, TravelerDocument

log = logging.getLogger(__name__)

Sample = str  # "genuine" | "mismatch" | "unreadable"

# Common Indonesian given names and family names; single names are drawn on their own.
_GIVEN_M = [
    "Budi",
    "Agus",
    "Ahmad",
    "Dedi",
    "Eko",
    "Hendra",
    "Joko",
    "Rudi",
    "Andi",
    "Rizky",
    "Fajar",
    "Bayu",
    "Yusuf",
    "Wahyu",
    "Arif",
    "I Made",
    "I Gede",
    "Muhammad",
]
_GIVEN_F = [
    "Siti",
    "Dewi",
    "Sri",
    "Putri",
    "Ayu",
    "Rina",
    "Lestari",
    "Fitri",
    "Nur",
    "Indah",
    "Ni Luh",
    "Wulan",
    "Ratna",
    "Yuliana",
    "Maria",
]
_FAMILY = [
    "Santoso",
    "Wijaya",
    "Saputra",
    "Pratama",
    "Hidayat",
    "Nasution",
    "Siregar",
    "Simanjuntak",
    "Harahap",
    "Lubis",
    "Kusuma",
    "Setiawan",
    "Gunawan",
    "Halim",
    "Tanoto",
    "Sihombing",
    "Wibowo",
    "Kurniawan",
    "Rahman",
    "Sulistyo",
]
_SINGLE = [
    "Sukarno",
    "Suharto",
    "Mulyani",
    "Sutrisno",
    "Paijo",
    "Ngatini",
    "Tukiman",
    "Sumarni",
    "Slamet",
    "Wagiman",
    "Juminten",
    "Karyono",
]
_FOREIGN = {
    "MYS": (
        ["Ahmad", "Nurul", "Lim", "Siva"],
        ["Bin Abdullah", "Tan", "Wong", "Kumar"],
        "A{d8}",
    ),
    "SGP": (["Wei Ming", "Hui Min", "Raj"], ["Tan", "Lim", "Nair"], "K{d7}A"),
    "AUS": (["Jack", "Olivia", "Liam"], ["Smith", "Jones", "Brown"], "PA{d7}"),
    "NLD": (["Daan", "Emma", "Sem"], ["De Vries", "Jansen", "Bakker"], "NX{d7}"),
    "JPN": (["Haruto", "Yui", "Sota"], ["Sato", "Suzuki", "Takahashi"], "TK{d7}"),
}
_DPRI_SERIES = ("X", "C", "B", "E")  # letter + 7 digits, as on DPRI booklets


@dataclass(frozen=True)
class SimTraveler:
    """One synthetic traveler and what the simulated devices will read from them."""

    traveler_id: str
    surname: str
    given_names: str
    sex: str
    birth_date: date
    nationality: str
    document_number: str
    expiry_date: date
    mrz_lines: tuple[str, str]
    document_readable: bool = True
    finger_samples: tuple[Sample, ...] = ("genuine",)  # one per attempt; the last repeats
    face_samples: tuple[Sample, ...] = ("genuine",)

    def finger_sample(self, attempt: int) -> Sample:
        return self.finger_samples[min(attempt, len(self.finger_samples) - 1)]

    def face_sample(self, attempt: int) -> Sample:
        return self.face_samples[min(attempt, len(self.face_samples) - 1)]

    def presented(self) -> PresentedDocument:
        return PresentedDocument(self.mrz_lines if self.document_readable else None)

    def document(self) -> TravelerDocument:
        return TravelerDocument(
            document_number=self.document_number,
            document_type="P",
            issuing_state=self.nationality,
            expiry_date=self.expiry_date,
            given_names=self.given_names.upper(),
            surname=self.surname.upper(),
            sex=self.sex,  # type: ignore[arg-type]
            birth_date=self.birth_date,
            nationality=self.nationality,
        )

    def __repr__(self) -> str:  # no names or MRZ in logs
        return f"SimTraveler({self.traveler_id}, {self.nationality})"


@dataclass(frozen=True)
class TravelerRates:
    """Probabilities, each in 0..1, applied independently per traveler."""

    foreign: float = 0.05
    expired: float = 0.03
    unreadable_document: float = 0.02
    finger_mismatch: float = 0.03
    finger_unreadable: float = 0.02
    face_mismatch: float = 0.02
    face_unreadable: float = 0.02
    retry_helps: float = 0.7  # a failed biometric succeeds at the next attempt


def make_traveler(
    rng: random.Random,
    index: int,
    *,
    today: date,
    rates: TravelerRates = TravelerRates(),
    **overrides: object,
) -> SimTraveler:
    """One traveler drawn from *rng*; keyword overrides fix fields (e.g. ``expired=True``)."""
    foreign = bool(overrides.pop("foreign", rng.random() < rates.foreign))
    expired = bool(overrides.pop("expired", rng.random() < rates.expired))
    sex = rng.choice("MF")
    if foreign:
        nationality = rng.choice(sorted(_FOREIGN))
        givens, families, pattern = _FOREIGN[nationality]
        given, surname = rng.choice(givens), rng.choice(families)
        number = pattern.replace("{d8}", f"{rng.randrange(10**8):08d}").replace("{d7}", f"{rng.randrange(10**7):07d}")
    else:
        nationality = "IDN"
        number = f"{rng.choice(_DPRI_SERIES)}{rng.randrange(10**7):07d}"
        if rng.random() < 0.2:
            surname, given = rng.choice(_SINGLE), ""
        else:
            given = rng.choice(_GIVEN_M if sex == "M" else _GIVEN_F)
            surname = rng.choice(_FAMILY)
    birth = today - timedelta(days=rng.randrange(18 * 365, 75 * 365))
    if expired:
        expiry = today - timedelta(days=rng.randrange(1, 3 * 365))
    else:
        expiry = today + timedelta(days=rng.randrange(200, 9 * 365))
    finger = _samples(rng, rates.finger_mismatch, rates.finger_unreadable, rates.retry_helps)
    face = _samples(rng, rates.face_mismatch, rates.face_unreadable, rates.retry_helps)
    fields: dict[str, object] = {
        "traveler_id": f"T{index:05d}",
        "surname": surname,
        "given_names": given,
        "sex": sex,
        "birth_date": birth,
        "nationality": nationality,
        "document_number": number,
        "expiry_date": expiry,
        "document_readable": rng.random() >= rates.unreadable_document,
        "finger_samples": finger,
        "face_samples": face,
    }
    fields.update(overrides)
    lines = compose_td3(
        surname=str(fields["surname"]),
        given_names=str(fields["given_names"]),
        document_number=str(fields["document_number"]),
        nationality=str(fields["nationality"]),
        birth_date=fields["birth_date"],  # type: ignore[arg-type]
        sex=str(fields["sex"]),
        expiry_date=fields["expiry_date"],  # type: ignore[arg-type]
    )
    return SimTraveler(mrz_lines=lines, **fields)  # type: ignore[arg-type]


def _samples(rng: random.Random, mismatch: float, unreadable: float, retry_helps: float) -> tuple[Sample, ...]:
    roll = rng.random()
    if roll < mismatch:
        first: Sample = "mismatch"
    elif roll < mismatch + unreadable:
        first = "unreadable"
    else:
        return ("genuine",)
    return (first, "genuine") if rng.random() < retry_helps else (first,)


def traveler_stream(seed: int, *, today: date, rates: TravelerRates = TravelerRates()) -> Iterator[SimTraveler]:
    """An endless, reproducible stream of travelers."""
    rng = random.Random(seed)
    index = 0
    while True:
        index += 1
        yield make_traveler(rng, index, today=today, rates=rates)


# The demo's hall: biometric failures common enough to be seen in a few minutes.
DEMO_RATES = TravelerRates(foreign=0.1, expired=0.04, unreadable_document=0.04, finger_mismatch=0.04,
                           finger_unreadable=0.02, face_mismatch=0.08, face_unreadable=0.03, retry_helps=0.6)
# Early in every demo stream, so a short run shows each case: a crossing, a hold (the second:
# DEMO_WATCHLISTED), an impostor whose face never matches (retries, then the counter), a
# crossing, and a face that matches at the second attempt.
_SMOOTH: dict[str, object] = {"face_samples": ("genuine",), "finger_samples": ("genuine",), "expired": False,
                               "document_readable": True}
DEMO_SCRIPT: dict[int, dict[str, object]] = {
    1: _SMOOTH,  # the first one crosses
    4: _SMOOTH,
    3: {"face_samples": ("mismatch",), "finger_samples": ("genuine",), "expired": False,
        "document_readable": True},
    5: {"face_samples": ("mismatch", "genuine"), "finger_samples": ("genuine",), "expired": False,
        "document_readable": True},
}
# Stream positions the demo puts on its seeded watchlist (a hold early, then now and then).
DEMO_WATCHLISTED = frozenset({2, 14, 27, 41, 58, 76, 95})


def demo_stream(seed: int, *, today: date) -> Iterator[SimTraveler]:
    """The demo's travellers: ``traveler_stream`` at ``DEMO_RATES`` with ``DEMO_SCRIPT`` applied
    (the enroller and the gate draw the same stream from the same seed)."""
    rng = random.Random(seed)
    index = 0
    while True:
        index += 1
        overrides = dict(DEMO_SCRIPT.get(index, {}))
        if index in DEMO_WATCHLISTED:
            overrides.setdefault("expired", False)
            overrides.setdefault("document_readable", True)
        yield make_traveler(rng, index, today=today, rates=DEMO_RATES, **overrides)


# ---------------------------------------------------------------------- driving a gate

SupervisorPolicy = Callable[[GateRuntime, str], str | None]
"""Given the gate and the failed step, return "grant_retry", "send_to_counter" or None (no answer)."""


def retry_then_counter(runtime: GateRuntime, failed_step: str) -> str | None:
    """A typical supervisor: grants retries while the gate allows, then sends to the counter."""
    txn = runtime.machine.transaction
    if txn is not None and txn.retries.get(failed_step, 0) < runtime.machine.config.max_retries:
        return "grant_retry"
    return "send_to_counter"


@dataclass
class GateDriver:
    """Walks simulated travelers through one simulated gate, advancing the fake clock.

    :param walk_s: seconds a traveler takes between two actions (walk in, to the sensor, out).
    :param supervisor: answers B4/B5 notifications; ``None`` lets the gate time out.
    """

    runtime: GateRuntime
    hardware: SimulatedGateHardware
    scheduler: ManualScheduler
    supervisor: SupervisorPolicy | None = retry_then_counter
    supervisor_id: str = "spv-sim"
    walk_s: float = 1.5
    max_steps: int = 200
    # Turns a traveler's finger flag into what the sensor would image (a real capture for the
    # real engine, e.g. ``simulators.fingerprints.sensor_capture``); None hands the flag itself.
    render_finger: Callable[[SimTraveler, Sample, int], object] | None = None
    # The same for the face camera (e.g. ``simulators.faces.FaceBook.capture``): a burst of frames.
    render_face: Callable[[SimTraveler, Sample, int], object] | None = None
    # What the passport reader hands over (e.g. ``simulators.passports.presented_passport``: the
    # rendered data page for the MRZ reader); None hands the MRZ lines as decoded.
    render_document: Callable[[SimTraveler], PresentedDocument] | None = None
    _commands: int = field(default=0, init=False)

    def advance(self, seconds: float) -> None:
        self.scheduler.advance(seconds)

    def wait_for_door(self, door: str, position: str, limit_s: float = 30.0) -> None:
        """Advance the clock in small steps until *door* reports *position*."""
        waited = 0.0
        while self.hardware.door_positions[door] != position and waited < limit_s:  # type: ignore[index]
            self.advance(0.25)
            waited += 0.25

    def wait_for_state(self, state: str, limit_s: float = 4.0, step_s: float = 0.1) -> None:
        """Advance the clock in small steps until the gate is in *state* (or *limit_s* passed)."""
        for _ in range(round(limit_s / step_s)):
            if self.runtime.state == state:
                return
            self.advance(step_s)

    def command(self, action: str, reason: str = "", issued_by: str | None = None) -> bool:
        """Send a supervisor command through the gate's link, as central would; True if accepted."""
        self._commands += 1
        cmd = Command(
            command_id=f"{self.runtime.gate_id}-cmd-{self._commands}",
            gate_id=self.runtime.gate_id,
            action=CommandAction(action),
            issued_by=issued_by or self.supervisor_id,
            reason=reason,
            expires_at_ms=self.runtime.now_ms() + 30_000,
        )
        link = self.runtime.link
        if isinstance(link, MemoryLink):
            return link.deliver_command(cmd).accepted  # publishes the ack, as the MQTT intake does
        # A real link: the simulated supervisor speaks to the gate directly (no central to sign
        # for it); the ack still goes out through the outbox, so central sees the decision.
        ack = self.runtime.handle_command(cmd)
        link.publish_event(ack)
        return ack.accepted

    def run_traveler(self, traveler: SimTraveler, *, stop_when_held: bool = True) -> str:
        """Play one traveler to the end of their transaction; return the outcome.

        Returns "held" (and leaves the traveler locked in) when the gate holds them and
        ``stop_when_held`` is set: what follows is the supervisor's business. Otherwise a held
        traveler waits, however long, for the officer's release, then leaves the way they came.
        """
        rt, hw = self.runtime, self.hardware
        ended_before = rt.ended_count
        finger_attempt = face_attempt = 0
        face_shown_held = False
        rt.present_document(traveler.presented() if self.render_document is None else self.render_document(traveler))
        steps = 0
        while steps < self.max_steps:
            if rt.ended_count > ended_before:
                return rt.last_outcome or "aborted"
            state = rt.state
            steps += state != "held"  # a hold lasts until an officer comes: no step limit
            if state == "entry_open":
                if hw.door_positions["entry"] == "open" and hw.people_inside == 0:
                    self.advance(self.walk_s / 2)
                    hw.person_enters()
                self.advance(self.walk_s / 2)
            elif state == "held":
                if not face_shown_held:  # the camera inside shows the officer who is held
                    face_shown_held = True
                    rt.show_face(self.render_face(traveler, traveler.face_sample(0), 0)
                                 if self.render_face else traveler.face_sample(0))
                if stop_when_held:
                    return "held"
                self.advance(self.walk_s)
            elif state == "inside":
                self.advance(self.walk_s)
                flag = traveler.finger_sample(finger_attempt)
                render = self.render_finger
                rt.place_finger(flag if render is None else render(traveler, flag, finger_attempt))
                finger_attempt += 1
            elif state == "face":
                self.advance(self.walk_s / 2)
                txn = rt.machine.transaction
                if txn is not None and face_attempt <= txn.retries["face"]:  # once per attempt
                    flag = traveler.face_sample(face_attempt)
                    rt.show_face(flag if self.render_face is None else self.render_face(traveler, flag, face_attempt))
                    face_attempt += 1
            elif state == "awaiting_supervisor":
                self.advance(self.walk_s)
                txn = rt.machine.transaction
                failed = txn.failed_step if txn and txn.failed_step else "fingerprint"
                answer = self.supervisor(rt, failed) if self.supervisor else None
                if answer is not None:
                    self.command(answer, reason=f"simulated supervisor: {answer}")
                # else: a supervisor elsewhere (central's console) may answer; the gate's own
                # timeout sends the traveler to the counter if nobody does.
            elif state == "exit_open":
                if hw.door_positions["exit"] == "open" and hw.people_inside > 0:
                    self.advance(self.walk_s / 2)
                    hw.person_exits()
                self.advance(self.walk_s / 2)
            elif state == "return_to_counter":
                if hw.door_positions["entry"] == "open" and hw.people_inside > 0:
                    self.advance(self.walk_s / 2)
                    hw.person_backs_out()
                self.advance(self.walk_s / 2)
            else:  # reading, checking, idle after a refusal, or a safety state
                if state in ("emergency", "fault", "out_of_service"):
                    return state
                self.advance(0.5)
        raise RuntimeError(
            f"traveler {traveler.traveler_id} did not finish in {self.max_steps} steps (state {rt.state})"
        )
