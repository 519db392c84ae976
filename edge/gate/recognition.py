"""The recognition steps the runtime runs for the machine, behind small interfaces.

Each step has one interface and at least one implementation here:

- ``DocumentReader``: the presented document's MRZ (``MrzLinesReader`` parses what the passport
  reader returned with ``edge.mrz.parse_mrz``; the OCR reader plugs in the same way);
- ``DocumentChecker``: validity and expiry (``PolicyDocumentChecker`` = ``edge.mrz.check_document``);
- ``WatchlistCheck``: cekal screening (``ScreenerWatchlist`` wraps ``edge.watchlist.Screener``;
  ``DocumentNumberWatchlist`` is a tiny exact-number list for simulations);
- ``BiometricVerifier``: 1:1 fingerprint or face (``SimulatedVerifier`` reads the simulated
  traveler's flag; ``edge.gate.biometrics`` runs the real engines against the enrolled templates).

Samples are opaque to the gate: whatever the device produced is handed to the verifier.
``runner`` says where the steps run: ``InlineRunner`` (the caller's thread; simulations, whose
traces must not depend on thread timing) or ``WorkerRunner`` (one worker thread; production).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol, TypeVar

from edge.gate.events import WatchlistLevel
from edge.mrz import DocumentDecision, DocumentPolicy, Mrz, check_document, parse_mrz
from protocol.messages import BiometricResult, TravelerDocument

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class PresentedDocument:
    """What the document station captured: the MRZ lines a passport reader decoded (None when it
    saw nothing readable), or the camera's image of the data page (``image``, BGR) for the OCR
    reader, and the holder's portrait (JPEG) when the reader delivers one (page or chip DG2)."""

    mrz_lines: tuple[str, ...] | None
    portrait_jpeg: bytes | None = None
    image: Any = None  # numpy BGR array of the data page

    def __repr__(self) -> str:  # never put MRZ lines, images or the portrait in logs
        return (f"PresentedDocument(lines={0 if self.mrz_lines is None else len(self.mrz_lines)}, "
                f"image={self.image is not None}, portrait={self.portrait_jpeg is not None})")


@dataclass(frozen=True, repr=False)
class Verdict:
    """A biometric result plus, for a face, what the supervisor needs to judge it: the captured
    face and the enrolled one (small JPEGs). The runtime sends them only when the step failed."""

    result: BiometricResult
    captured_jpeg: bytes | None = None
    enrolled_jpeg: bytes | None = None
    enrolled_source: Literal["document", "enrolment"] | None = None

    def __repr__(self) -> str:
        return f"Verdict({self.result!r}, captured={self.captured_jpeg is not None})"


@dataclass(frozen=True)
class WatchlistOutcome:
    level: WatchlistLevel
    entry_id: str | None = None
    version: int | None = None


class DocumentReader(Protocol):
    def read(self, presented: PresentedDocument, *, today: date) -> Mrz:
        """The MRZ; raises ``edge.mrz.MrzError`` (a ValueError) when it cannot be read."""
        ...


class DocumentChecker(Protocol):
    def check(self, mrz: Mrz, *, today: date) -> DocumentDecision: ...


class WatchlistCheck(Protocol):
    def screen(self, traveler: TravelerDocument, *, today: date) -> WatchlistOutcome: ...


class BiometricVerifier(Protocol):
    """``evidence=True`` (asked only of the face verifier, for a held traveler) returns the
    captured and document faces whatever the score; otherwise only when the step failed."""

    def verify(
        self, sample: Any, traveler: TravelerDocument, *, document: PresentedDocument | None = None,
        evidence: bool = False,
    ) -> BiometricResult | Verdict: ...


class StepRunner(Protocol):
    """Runs ``work`` somewhere and calls ``done`` with its value (``work`` never raises)."""

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None: ...


class InlineRunner:
    """Runs each step at once on the caller's thread."""

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        done(work())


class WorkerRunner:
    """Runs steps in order on one worker thread, so engines need not be thread-safe and the
    event thread stays free for doors and emergencies. ``close()`` finishes queued steps."""

    def __init__(self, name: str = "recognition") -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Callable[[Any], None]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        self._jobs.put((work, done))

    def close(self, timeout_s: float = 5.0) -> None:
        self._jobs.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            work, done = job
            try:
                done(work())
            except Exception:  # a failing callback must not stop the gate's recognition
                log.exception("recognition worker: step failed")


class MrzLinesReader:
    """Parses the MRZ lines the passport reader returned."""

    def read(self, presented: PresentedDocument, *, today: date) -> Mrz:
        if not presented.mrz_lines:
            raise ValueError("no MRZ captured")
        return parse_mrz(list(presented.mrz_lines), today=today)


class CameraMrzReader:
    """Reads the MRZ from the camera's image of the data page with the OCR reader
    (``edge.mrz.reader``), or parses the lines when a passport reader already decoded them.

    A reading is used only when every check digit passed and nothing was guessed
    (``MrzReading.valid``); anything else is "unreadable" and the traveler is asked to lay the
    passport again, so a misread can never name the wrong person.
    """

    def __init__(self, reader: Any = None) -> None:
        if reader is None:
            from edge.mrz.reader import MrzReader

            reader = MrzReader()
        self._reader = reader
        self._lines = MrzLinesReader()

    def read(self, presented: PresentedDocument, *, today: date) -> Mrz:
        if presented.mrz_lines:
            return self._lines.read(presented, today=today)
        if presented.image is None:
            raise ValueError("no MRZ captured")
        reading = self._reader.read(presented.image, today=today)
        if not reading.valid or reading.mrz is None:
            raise ValueError(f"MRZ not read with valid check digits ({', '.join(reading.failed_checks) or 'unsure'})")
        return reading.mrz


@dataclass
class PolicyDocumentChecker:
    """``edge.mrz.check_document`` with this gate's policy (WNI with a DPRI by default)."""

    policy: DocumentPolicy = field(default_factory=DocumentPolicy)

    def check(self, mrz: Mrz, *, today: date) -> DocumentDecision:
        return check_document(mrz, today=today, policy=self.policy)


class ScreenerWatchlist:
    """Adapter to the shared screening engine (``edge.watchlist.Screener``). *escalate* may raise
    a result (the CCTV person flags: ``edge.link.flags_sync.PersonFlagsSync.escalate``)."""

    def __init__(self, screener: Any, *, version: int | None = None,
                 escalate: Callable[[Any], Any] | None = None) -> None:
        self._screener = screener
        self.version = version
        self._escalate = escalate

    def screen(self, traveler: TravelerDocument, *, today: date) -> WatchlistOutcome:
        from edge.watchlist import ScreeningQuery

        query = ScreeningQuery(
            document_number=traveler.document_number,
            surname=traveler.surname,
            given_names=traveler.given_names,
            birth_date=traveler.birth_date.isoformat() if traveler.birth_date else None,
            nationality=traveler.nationality,
            sex=None if traveler.sex == "X" else traveler.sex,
        )
        result = self._screener.screen(query, today=today)
        if self._escalate is not None:
            result = self._escalate(result)
        top = result.candidates[0].entry_id if result.candidates else None
        return WatchlistOutcome(level=result.level, entry_id=top, version=self.version)


@dataclass
class DocumentNumberWatchlist:
    """Exact document-number list (simulation): listed numbers are identical matches."""

    identical: dict[str, str] = field(default_factory=dict)  # document number -> entry id
    similar: dict[str, str] = field(default_factory=dict)
    version: int | None = 1

    def screen(self, traveler: TravelerDocument, *, today: date) -> WatchlistOutcome:
        number = traveler.document_number.upper()
        if number in self.identical:
            return WatchlistOutcome("identical", self.identical[number], self.version)
        if number in self.similar:
            return WatchlistOutcome("similar", self.similar[number], self.version)
        return WatchlistOutcome("none", None, self.version)


SimulatedSample = Literal["genuine", "mismatch", "unreadable"]


@dataclass
class SimulatedVerifier:
    """Decides from the simulated traveler's flag; scores look like a real matcher's."""

    modality: Literal["fingerprint", "face"]
    threshold: float = 0.5

    def verify(
        self, sample: Any, traveler: TravelerDocument, *, document: PresentedDocument | None = None,
        evidence: bool = False,
    ) -> BiometricResult:
        if sample == "genuine":
            return BiometricResult(modality=self.modality, match=True, score=0.9, threshold=self.threshold)
        if sample == "unreadable":
            why = "low quality" if self.modality == "fingerprint" else "no face found"
            return BiometricResult(
                modality=self.modality,
                match=False,
                score=None,
                threshold=self.threshold,
                refused_reason=why,
            )
        return BiometricResult(modality=self.modality, match=False, score=0.1, threshold=self.threshold)


@dataclass
class Recognition:
    """The recognition steps one gate runs, and where "today" comes from (for expiry checks)."""

    reader: DocumentReader = field(default_factory=MrzLinesReader)
    checker: DocumentChecker = field(default_factory=PolicyDocumentChecker)
    watchlist: WatchlistCheck = field(default_factory=DocumentNumberWatchlist)
    fingerprint: BiometricVerifier = field(default_factory=lambda: SimulatedVerifier("fingerprint"))
    face: BiometricVerifier = field(default_factory=lambda: SimulatedVerifier("face"))
    today: Callable[[], date] = date.today
    runner: StepRunner = field(default_factory=InlineRunner)
    # A step with no answer by then fails closed (a hung engine must not trap a traveler inside).
    step_timeout_s: float = 10.0
    # Called with the traveler as soon as the MRZ is read, e.g. to fetch the enrolled templates
    # while the traveler walks in; it must not block (and its errors never fail the read).
    on_document_read: Callable[[TravelerDocument], None] | None = None
    # Simulation only: seconds each step takes on the runtime's clock ("read_document",
    # "check_document", "verify_fingerprint", "verify_face"); absent means "answer at once".
    latency_s: dict[str, float] = field(default_factory=dict)


    def document_read(self, traveler: TravelerDocument) -> None:
        if self.on_document_read is None:
            return
        try:
            self.on_document_read(traveler)
        except Exception:
            log.exception("document-read hook failed (the traveler goes on)")


def traveler_from_mrz(mrz: Mrz) -> TravelerDocument:
    """The nine SOP fields of a parsed MRZ as the wire model."""
    return TravelerDocument(
        document_number=mrz.document_number[:20] or "?",
        document_type=mrz.document_code[:2] or "?",
        issuing_state=mrz.issuing_state[:3] or "?",
        expiry_date=mrz.expiry_date,
        given_names=mrz.given_names[:80],
        surname=mrz.surname[:80],
        sex=mrz.sex,
        birth_date=mrz.birth_date,
        nationality=mrz.nationality[:3] or "?",
    )


def listed(numbers: Iterable[str]) -> DocumentNumberWatchlist:
    """A simulation watchlist holding *numbers* as identical matches."""
    return DocumentNumberWatchlist(identical={n.upper(): f"sim-{i}" for i, n in enumerate(numbers, 1)})
