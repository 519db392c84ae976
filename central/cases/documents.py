"""The printable documents a case produces (STP, BAST, LK, Nodin, payment proof ...), pure.

Each field of a document is filled from the step that produced it (what the officer recorded),
then from the case context (gate, traveler, watchlist entry, overstay assessment). A field that
nothing fills prints as a blank line to write on by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from central.workflows import CaseState, StepRecord, WorkflowDefinition
from central.workflows.engine import produced_documents

OFFICE = "Kantor Imigrasi Kelas I Khusus TPI Soekarno-Hatta"
MINISTRY = "Kementerian Imigrasi dan Pemasyarakatan Republik Indonesia — Direktorat Jenderal Imigrasi"

FIELD_LABELS: dict[str, str] = {
    "document_number": "Travel document number (nomor dokumen perjalanan)",
    "holder_name": "Holder (nama pemegang)",
    "retained_by": "Retained by (ditahan oleh)",
    "received_by": "Received by (diterima oleh)",
    "agency": "Agency (instansi)",
    "police_unit": "Police unit (kesatuan Polri)",
    "chronology": "Chronology (kronologi)",
    "findings": "Findings (temuan)",
    "action_taken": "Action taken (tindakan)",
    "summary": "Summary (ringkasan)",
    "overstay_days": "Overstay days (hari overstay)",
    "fee_idr": "Fee, IDR (biaya beban)",
    "payment_reference": "Payment reference (nomor bukti bayar)",
    "billing_code": "SIMPONI billing code (kode billing)",
    "bank_reference": "Bank reference (bukti bank persepsi)",
    "airline": "Airline (maskapai)",
    "carrier": "Carrier (pengangkut)",
    "flight": "Flight (penerbangan)",
    "reason": "Reason (alasan)",
    "room": "Detention room (ruang detensi)",
    "airline_supervisor": "Airline supervisor",
    "opinion": "Opinion (pendapat)",
    "charge_idr": "Charge, IDR (biaya beban)",
    "payment_deadline": "Payment deadline (batas waktu bayar)",
    "notes": "Notes (catatan)",
    "agency_contacted": "Requesting agency contacted (instansi pengusul dihubungi)",
    "retained_document_number": "Retained travel document number (dokumen yang ditahan)",
    "evidence": "Evidence (bukti)",
}

TRAVELER_LABELS: tuple[tuple[str, str], ...] = (
    ("document_number", "Document number (nomor dokumen)"),
    ("document_type", "Document type"),
    ("issuing_state", "Issuing state"),
    ("expiry_date", "Expiry date (habis berlaku)"),
    ("surname", "Surname"),
    ("given_names", "Given names"),
    ("sex", "Sex"),
    ("birth_date", "Birth date (tanggal lahir)"),
    ("nationality", "Nationality (kewarganegaraan)"),
)


@dataclass(frozen=True)
class DocumentView:
    key: str
    title_en: str
    title_id: str
    copies: int
    fields: tuple[tuple[str, str], ...]  # (label, value); value "" prints a blank line
    record: StepRecord
    step_action: str


def _traveler_name(context: dict[str, Any]) -> str:
    traveler = context.get("traveler") or {}
    return " ".join(
        p for p in (traveler.get("given_names"), traveler.get("surname")) if p
    )


def _field_value(name: str, record: StepRecord, state: CaseState) -> str:
    data, context = record.data, state.context
    traveler = context.get("traveler") or {}
    watchlist = context.get("watchlist") or {}
    overstay = context.get("overstay") or {}
    if data.get(name) not in (None, ""):
        return str(data[name])
    derived: dict[str, Any] = {
        "document_number": data.get("retained_document_number")
        or traveler.get("document_number"),
        "holder_name": _traveler_name(context),
        "retained_by": record.actor,
        "agency": watchlist.get("agency") or data.get("agency_contacted"),
        "reason": context.get("reason_text"),
        "overstay_days": overstay.get("overstay_days"),
        "fee_idr": overstay.get("fee_idr"),
    }
    value = derived.get(name)
    if value in (None, ""):
        # A value recorded at an earlier step (the chronology typed at the LK step, say).
        value = next(
            (
                r.data[name]
                for r in reversed(state.history)
                if r.data.get(name) not in (None, "")
            ),
            None,
        )
    return "" if value is None else str(value)


def document_view(
    definition: WorkflowDefinition, state: CaseState, key: str
) -> DocumentView:
    """The document *key* as the case produced it; KeyError when the case has not produced it."""
    for produced, record in produced_documents(definition, state):
        if produced == key:
            spec = definition.document(key)
            step = definition.step(record.step_id)
            return DocumentView(
                key=key,
                title_en=spec.title_en,
                title_id=spec.title_id,
                copies=spec.copies,
                fields=tuple(
                    (
                        FIELD_LABELS.get(f, f.replace("_", " ")),
                        _field_value(f, record, state),
                    )
                    for f in spec.fields
                ),
                record=record,
                step_action=step.action_en,
            )
    raise KeyError(f"case {state.case_id} has not produced document {key!r}")


def traveler_rows(context: dict[str, Any]) -> list[tuple[str, str]]:
    traveler = context.get("traveler") or {}
    return [(label, str(traveler.get(name) or "")) for name, label in TRAVELER_LABELS]
