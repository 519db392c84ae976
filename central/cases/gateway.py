"""What an applicant may learn about an application, and how the SMS/WhatsApp gateway asks (it-06b).

Pure: the public status of a case (never what a check found: a watchlist stop reads "contact the
office"), the parsing of a message ("STATUS PASPOR-7KQ2M9XD", "CEK ...", or the number alone),
and the provider's webhook signature (HMAC-SHA256 of the body with the shared secret).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from central.workflows import CaseState, WorkflowDefinition
from central.workflows import positions as vocabulary

REFERENCE = re.compile(r"\b([A-Z0-9]{2,8}-[0-9A-Z]{8})\b")
ENGLISH_WORDS = ("STATUS", "HELP", "CHECK")


@dataclass(frozen=True)
class PublicStatus:
    reference: str
    service_en: str
    service_id: str
    state: str  # in_process / waiting_for_you / waiting_for_party / completed / closed
    text_en: str
    text_id: str


def public_status(definition: WorkflowDefinition, state: CaseState, reference: str) -> PublicStatus:
    """The status an applicant may see: where the application stands, not what any check found."""
    def make(kind: str, en: str, idn: str) -> PublicStatus:
        return PublicStatus(reference, definition.title_en, definition.title_id, kind, en, idn)

    if state.status == "closed":
        success = definition.outcomes[0] if definition.outcomes else None
        if state.outcome == success:
            return make("completed", f"Completed: {state.outcome}.", "Selesai.")
        return make("closed", "Closed. Please contact the office or read the letter you were given.",
                    "Ditutup. Silakan hubungi kantor atau baca surat yang Anda terima.")
    step = definition.step(state.current_step or definition.start)
    if step.waits_on == "applicant":
        return make("waiting_for_you", f"Waiting for you: {step.action_en}",
                    f"Menunggu Anda: {step.action_id or step.action_en}")
    if step.waits_on:
        party = vocabulary.spec(step.waits_on)
        return make("waiting_for_party", f"Waiting for {party.title_en}.", f"Menunggu {party.title_id}.")
    return make("in_process", "In process at the office.", "Sedang diproses di kantor.")


@dataclass(frozen=True)
class Query:
    kind: str  # status / help
    reference: str | None
    english: bool


def parse_message(text: str) -> Query:
    cleaned = " ".join(text.upper().split())[:300]
    english = cleaned.split(" ", 1)[0] in ENGLISH_WORDS if cleaned else False
    found = REFERENCE.search(cleaned)
    if found:
        return Query("status", found.group(1), english)
    return Query("help", None, english)


def help_text(english: bool) -> str:
    if english:
        return "Send STATUS followed by your application number, e.g. STATUS PASPOR-7KQ2M9XD."
    return "Kirim CEK diikuti nomor permohonan, contoh: CEK PASPOR-7KQ2M9XD."


def reply_for(query: Query, status: PublicStatus | None) -> str:
    if query.kind == "help":
        return help_text(query.english)
    if status is None:
        return (f"No application {query.reference} was found." if query.english
                else f"Permohonan {query.reference} tidak ditemukan.")
    if query.english:
        return f"{status.reference} ({status.service_en}): {status.text_en}"
    return f"{status.reference} ({status.service_id}): {status.text_id}"


def sign(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_ok(secret: bytes, body: bytes, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(sign(secret, body), str(sent).strip().lower())
