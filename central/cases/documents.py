"""The printable documents a case produces (STP, BAST, LK, Nodin, SK, BAP ...), pure.

A document is an official letter of the office: it prints in Indonesian, with times in WIB,
whatever language the officer's screen is in. Each field is filled from the step that produced
it (what the officer recorded), then from the case context (gate, traveller, applicant, watchlist
entry, overstay assessment). A field that nothing fills prints as a dotted line to write on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from central.workflows import CaseState, StepRecord, WorkflowDefinition
from central.workflows.calendar import WIB
from central.workflows.engine import produced_documents

OFFICE = "Kantor Imigrasi Kelas I Khusus TPI Soekarno-Hatta"
MINISTRY = "Kementerian Imigrasi dan Pemasyarakatan Republik Indonesia — Direktorat Jenderal Imigrasi"

# name -> (English, Indonesian): the form shows both, a printed document the Indonesian.
LABELS: dict[str, tuple[str, str]] = {
    "action_taken": ("Action taken", "Tindakan yang diambil"),
    "agency": ("Agency", "Instansi"),
    "agency_contacted": ("Requesting agency contacted", "Instansi pengusul yang dihubungi"),
    "airline": ("Airline", "Maskapai"),
    "airline_supervisor": ("Airline supervisor", "Pengawas dari maskapai"),
    "answer_text": ("Answer", "Jawaban"),
    "ban_years": ("Entry ban, years", "Lama penangkalan (tahun)"),
    "bank_reference": ("Bank reference", "Bukti bayar bank persepsi"),
    "belongings": ("Belongings", "Barang milik"),
    "billing_code": ("Billing code", "Kode billing"),
    "booking_channel": ("Booking channel", "Cara pendaftaran"),
    "carrier": ("Carrier", "Penanggung jawab alat angkut"),
    "cause": ("Cause (lost, damaged, changed data)", "Sebab (hilang, rusak, perubahan data)"),
    "certificate_number": ("Certificate number", "Nomor sertifikat"),
    "charge_idr": ("Charge, IDR", "Biaya beban (Rp)"),
    "chronology": ("Chronology", "Kronologi"),
    "collected_by": ("Collected by", "Diambil oleh"),
    "complaint": ("Complaint or question", "Pengaduan / pertanyaan"),
    "courier_receipt": ("PT Pos Indonesia receipt", "Tanda terima PT Pos Indonesia"),
    "device": ("Device", "Perangkat"),
    "disposition": ("Disposition", "Disposisi"),
    "document_number": ("Travel document number", "Nomor dokumen perjalanan"),
    "evidence": ("Supporting evidence", "Bukti dukung"),
    "examined_at": ("Examined at", "Tempat pemeriksaan"),
    "expiry_date": ("Expiry date", "Tanggal habis berlaku"),
    "extension": ("Extension chosen", "Pilihan ekstensi"),
    "fee_idr": ("Fee, IDR", "Biaya beban (Rp)"),
    "findings": ("Findings", "Temuan"),
    "flight": ("Flight", "Penerbangan"),
    "holder_name": ("Holder", "Nama pemegang"),
    "items": ("Items", "Barang"),
    "letter_reference": ("Letter number", "Nomor surat"),
    "mpaspor_booking": ("M-Paspor booking number", "Nomor antrian M-Paspor"),
    "notes": ("Notes", "Catatan"),
    "officers": ("Officers assigned", "Petugas yang ditugaskan"),
    "old_passport_revoked": ("Old passport revoked", "Pencabutan paspor lama"),
    "opinion": ("Opinion", "Pendapat"),
    "overstay_days": ("Overstay days", "Jumlah hari overstay"),
    "passport_number": ("Passport number", "Nomor paspor"),
    "payment_deadline": ("Payment deadline", "Batas waktu pembayaran"),
    "payment_reference": ("Payment reference", "Nomor bukti pembayaran"),
    "police_unit": ("Police unit", "Kesatuan Polri"),
    "power_of_attorney": ("Power of attorney", "Surat kuasa"),
    "question": ("Caller's question", "Pertanyaan penelepon"),
    "reason": ("Reason", "Alasan"),
    "received_by": ("Received by", "Diterima oleh"),
    "registration_number": ("Registration number", "Nomor register"),
    "release_reason": ("Deportation or transfer", "Pendeportasian atau pemindahan"),
    "release_warrant_reference": ("Release warrant number", "Nomor surat perintah pengeluaran"),
    "retained_by": ("Retained by", "Ditahan oleh"),
    "retained_document_number": ("Retained travel document number", "Nomor dokumen perjalanan yang ditahan"),
    "room": ("Detention room", "Ruang detensi"),
    "summary": ("Summary", "Ringkasan"),
    "ticket_reference": ("Helpdesk ticket", "Nomor tiket Helpdesk"),
    "username": ("User name", "Nama pengguna"),
}
# Kept for callers that show one label: English, with the Indonesian in brackets.
FIELD_LABELS: dict[str, str] = {name: f"{en} ({idn})" for name, (en, idn) in LABELS.items()}
LONG_FIELDS = frozenset({"chronology", "findings", "action_taken", "summary", "opinion", "notes", "evidence",
                         "complaint", "answer_text", "question", "disposition", "reason", "belongings", "items"})

TRAVELER_LABELS: tuple[tuple[str, str, str], ...] = (
    ("document_number", "Document number", "Nomor dokumen perjalanan"),
    ("document_type", "Document type", "Jenis dokumen"),
    ("issuing_state", "Issuing state", "Negara penerbit"),
    ("expiry_date", "Expiry date", "Tanggal habis berlaku"),
    ("surname", "Surname", "Nama keluarga"),
    ("given_names", "Given names", "Nama"),
    ("sex", "Sex", "Jenis kelamin"),
    ("birth_date", "Birth date", "Tanggal lahir"),
    ("nationality", "Nationality", "Kewarganegaraan"),
)


def label(name: str, language: str = "en") -> str:
    pair = LABELS.get(name)
    if pair is None:
        return name.replace("_", " ")
    return pair[1] if language == "id" else f"{pair[0]} ({pair[1]})"


def wib(ms: int | None) -> str:
    """A time as an Indonesian document prints it: day-month-year, 24 h, WIB."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


@dataclass(frozen=True)
class DocumentView:
    key: str
    title_en: str
    title_id: str
    copies: int
    fields: tuple[tuple[str, str], ...]  # (Indonesian label, value); value "" prints a blank line
    record: StepRecord
    step_action: str


def _person_name(context: dict[str, Any]) -> str:
    traveler = context.get("traveler") or {}
    return " ".join(p for p in (traveler.get("given_names"), traveler.get("surname")) if p) \
        or context.get("applicant_name") or context.get("detainee_name") or ""


def _field_value(name: str, record: StepRecord, state: CaseState) -> str:
    data, context = record.data, state.context
    traveler = context.get("traveler") or {}
    watchlist = context.get("watchlist") or {}
    overstay = context.get("overstay") or {}
    if data.get(name) not in (None, ""):
        return str(data[name])
    derived: dict[str, Any] = {
        "document_number": data.get("retained_document_number") or traveler.get("document_number")
        or context.get("document_number"),
        "holder_name": _person_name(context),
        "retained_by": record.actor,
        "agency": watchlist.get("agency") or data.get("agency_contacted"),
        "reason": context.get("reason_text"),
        "overstay_days": overstay.get("overstay_days"),
        "fee_idr": overstay.get("fee_idr"),
        "flight": context.get("flight"),
    }
    value = derived.get(name)
    if value in (None, ""):
        # A value recorded at an earlier step (the chronology typed at the LK step, say).
        value = next((r.data[name] for r in reversed(state.history) if r.data.get(name) not in (None, "")), None)
    return "" if value is None else str(value)


def document_view(definition: WorkflowDefinition, state: CaseState, key: str) -> DocumentView:
    """The document *key* as the case produced it (its latest issue); KeyError when the case has not."""
    produced = [(k, r) for k, r in produced_documents(definition, state) if k == key]
    if not produced:
        raise KeyError(f"case {state.case_id} has not produced document {key!r}")
    _, record = produced[-1]
    spec = definition.document(key)
    return DocumentView(
        key=key, title_en=spec.title_en, title_id=spec.title_id, copies=spec.copies,
        fields=tuple((label(f, "id"), _field_value(f, record, state)) for f in spec.fields),
        record=record, step_action=definition.step(record.step_id).action_en,
    )


def traveler_rows(context: dict[str, Any], language: str = "en") -> list[tuple[str, str]]:
    traveler = context.get("traveler") or {}
    if not traveler:
        return []
    return [(idn if language == "id" else f"{en} ({idn})", str(traveler.get(name) or ""))
            for name, en, idn in TRAVELER_LABELS]


def person_rows(context: dict[str, Any], language: str = "en") -> list[tuple[str, str]]:
    """The applicant or detainee a back-office case is about (no biometrics, no full MRZ)."""
    rows = []
    for name, en, idn in (("applicant_name", "Applicant", "Pemohon"), ("detainee_name", "Detainee", "Deteni"),
                          ("surname", "Surname", "Nama keluarga"), ("given_names", "Given names", "Nama"),
                          ("sex", "Sex", "Jenis kelamin"), ("birth_date", "Birth date", "Tanggal lahir"),
                          ("nationality", "Nationality", "Kewarganegaraan"),
                          ("document_number", "Travel document number", "Nomor dokumen perjalanan"),
                          ("applicant_phone", "Phone (WhatsApp/SMS)", "Telepon (WhatsApp/SMS)")):
        if context.get(name):
            rows.append((idn if language == "id" else f"{en} ({idn})", str(context[name])))
    return rows
