"""The gate's fetch of a traveller's enrolled templates from central, signed, budgeted and cached.

Budget: ``DEFAULT_BUDGET_S`` = 300 ms from asking to an answer (the gate asks as soon as the MRZ
is read, so the fetch overlaps the walk to the biometric station). A late, refused, unsigned or
tampered answer is never used: the result says ``timeout`` / ``unavailable`` / ``invalid`` and
the gate sends the traveller to the counter (ke konter). A ``miss`` means central answered, signed,
that nothing is enrolled for the document.

Caching: only found, verified templates are cached, in memory only (never on disk), in a small
LRU with a TTL (default 256 entries, 15 min), because templates are biometric data the gate may
hold just while a traveller can still be on their way through it. Misses are not cached, so a
just-enrolled passport works at once. ``forget(...)`` and ``clear()`` drop entries on request.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from edge.gate.enrolment_wire import (
    face_dim_ok,
    GATE_PATH,
    normalise_document_number,
    sign_request,
    verify_response,
)
from protocol.keys import KeyPair, PublicKey

log = logging.getLogger(__name__)

DEFAULT_BUDGET_S = 0.300
DEFAULT_TTL_S = 15 * 60.0
DEFAULT_CACHE_SIZE = 256

Status = Literal["found", "miss", "timeout", "unavailable", "invalid"]
# (url, headers, timeout_s) -> (HTTP status, body bytes); raises TimeoutError / OSError.
Transport = Callable[[str, dict[str, str], float], tuple[int, bytes]]


@dataclass(frozen=True, repr=False)
class EnrolledTemplates:
    """One enrolment as the gate uses it: the nine MRZ fields and the templates."""

    document_number: str
    issuing_state: str
    fields: dict[str, Any]
    face: np.ndarray | None  # float32, unit length, the dimension of face_model
    face_model: str | None
    face_model_version: str | None
    fingerprint_iso: bytes | None
    finger_position: int | None

    def __repr__(self) -> str:  # never templates or names in logs
        return (f"EnrolledTemplates(state={self.issuing_state}, face={self.face is not None}, "
                f"fingerprint={self.fingerprint_iso is not None})")


@dataclass(frozen=True)
class EnrolmentLookup:
    """What a fetch gave: ``templates`` only when ``status == "found"``."""

    status: Status
    templates: EnrolledTemplates | None = None
    elapsed_ms: float = 0.0
    from_cache: bool = False
    reason: str = ""

    @property
    def go_to_counter(self) -> bool:
        """No usable enrolment: the gate cannot do the 1:1 check and refers the traveller (ke konter)."""
        return self.status != "found"


def urllib_transport(url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:  # 4xx/5xx still carry a body (a signed miss is a 404)
        return int(exc.code), exc.read()
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (TimeoutError, socket.timeout)):
            raise TimeoutError(str(exc.reason)) from exc
        raise OSError(str(exc.reason)) from exc


@dataclass
class _Cache:
    size: int
    ttl_s: float
    entries: OrderedDict[tuple[str, str], tuple[float, EnrolledTemplates]] = field(default_factory=OrderedDict)

    def get(self, key: tuple[str, str], now: float) -> EnrolledTemplates | None:
        item = self.entries.get(key)
        if item is None:
            return None
        stored_at, value = item
        if now - stored_at > self.ttl_s:
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return value

    def put(self, key: tuple[str, str], value: EnrolledTemplates, now: float) -> None:
        self.entries[key] = (now, value)
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


class EnrolmentClient:
    """Fetch enrolled templates for a document; thread-safe (the cache has a lock)."""

    def __init__(self, base_url: str, *, gate_id: str, gate_key: KeyPair, central_key: PublicKey,
                 budget_s: float = DEFAULT_BUDGET_S, ttl_s: float = DEFAULT_TTL_S,
                 cache_size: int = DEFAULT_CACHE_SIZE, transport: Transport = urllib_transport,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        if budget_s <= 0 or ttl_s < 0 or cache_size < 0:
            raise ValueError("budget_s must be > 0, ttl_s and cache_size >= 0")
        self._base = base_url.rstrip("/")
        self._gate_id = gate_id
        self._key = gate_key
        self._central = central_key
        self.budget_s = budget_s
        self._transport = transport
        self._clock = clock
        self._monotonic = monotonic
        self._cache = _Cache(cache_size, ttl_s)
        self._lock = threading.Lock()

    def fetch(self, document_number: str, issuing_state: str) -> EnrolmentLookup:
        number = normalise_document_number(document_number)
        state = issuing_state.upper()
        key = (number, state)
        started = self._monotonic()
        with self._lock:
            cached = self._cache.get(key, started)
        if cached is not None:
            return EnrolmentLookup("found", cached, elapsed_ms=0.0, from_cache=True)
        result = self._fetch_remote(number, state, started)
        if result.templates is not None:
            with self._lock:
                self._cache.put(key, result.templates, self._monotonic())
        return result

    def forget(self, document_number: str, issuing_state: str) -> None:
        with self._lock:
            self._cache.entries.pop((normalise_document_number(document_number), issuing_state.upper()), None)

    def clear(self) -> None:
        with self._lock:
            self._cache.entries.clear()

    def __len__(self) -> int:
        return len(self._cache.entries)

    def _fetch_remote(self, number: str, state: str, started: float) -> EnrolmentLookup:
        target = f"{GATE_PATH}{urllib.parse.quote(number, safe='')}?issuing_state={urllib.parse.quote(state, safe='')}"
        request_ms = int(self._clock() * 1000)
        headers = sign_request(self._key, "GET", target, request_ms, self._gate_id)

        def done(status: Status, templates: EnrolledTemplates | None = None, reason: str = "") -> EnrolmentLookup:
            elapsed = (self._monotonic() - started) * 1000
            if status not in ("found", "miss"):
                log.warning("enrolment fetch: %s (%s) after %.0f ms", status, reason, elapsed)
            return EnrolmentLookup(status, templates, elapsed_ms=elapsed, reason=reason)

        try:
            code, body = self._transport(self._base + target, headers, self.budget_s)
        except TimeoutError:
            return done("timeout", reason="no answer within budget")
        except OSError as exc:
            return done("unavailable", reason=type(exc).__name__)
        if (self._monotonic() - started) > self.budget_s:
            return done("timeout", reason="answer after budget")
        if code not in (200, 404):
            return done("unavailable", reason=f"HTTP {code}")
        try:
            parsed = json.loads(body)
        except ValueError:
            return done("invalid", reason="not JSON")
        payload = verify_response(self._central, parsed) if isinstance(parsed, dict) else None
        if payload is None:
            return done("invalid", reason="central signature")
        if payload.get("gate_id") != self._gate_id or payload.get("request_ms") != request_ms:
            return done("invalid", reason="answer not for this request")
        for item in payload.get("enrolments") or []:
            if item.get("document_number") == number and item.get("issuing_state") == state:
                try:
                    return done("found", _templates(item))
                except (ValueError, TypeError, KeyError):
                    return done("invalid", reason="template format")
        return done("miss")


def _templates(item: dict[str, Any]) -> EnrolledTemplates:
    face = None
    if item.get("face_template"):
        raw = base64.b64decode(item["face_template"], validate=True)
        if not face_dim_ok(len(raw)):
            raise ValueError("face template size")
        face = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    fingerprint = base64.b64decode(item["fingerprint_iso"], validate=True) if item.get("fingerprint_iso") else None
    fields = {k: item.get(k) for k in ("document_number", "document_type", "issuing_state", "expiry_date",
                                       "given_names", "surname", "sex", "birth_date", "nationality")}
    return EnrolledTemplates(
        document_number=item["document_number"], issuing_state=item["issuing_state"], fields=fields, face=face,
        face_model=item.get("face_model"), face_model_version=item.get("face_model_version"),
        fingerprint_iso=fingerprint, finger_position=item.get("finger_position"),
    )
