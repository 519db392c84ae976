"""The parsed machine readable zone: one frozen value object shared by the parser, reader and gate."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

MrzFormat = Literal["TD1", "TD2", "TD3", "MRVA", "MRVB"]
Sex = Literal["M", "F", "X"]


class Mrz(BaseModel):
    """One MRZ as printed, with its fields decoded and its check digits verified.

    ``valid`` is False when any check digit (or the sex character) fails; ``failed_checks`` names
    them: "document_number", "birth_date", "expiry_date", "optional_data", "composite", "sex".
    Dates are None when the printed date is not a calendar date (e.g. an unknown day printed as '<').
    Names have their '<' fillers turned into spaces; either name may be empty (single-name holders).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: MrzFormat
    document_code: str  # tipe dokumen perjalanan, e.g. "P", "PA", "ID", "V"
    issuing_state: str  # negara yang mengeluarkan / organisasi internasional
    document_number: str  # nomor dokumen perjalanan, TD1/TD2 overflow included
    surname: str  # nama keluarga (primary identifier)
    given_names: str  # nama depan (secondary identifier)
    nationality: str  # kewarganegaraan
    birth_date: date | None  # tanggal lahir
    sex: Sex  # jenis kelamin; '<' (unspecified) is reported as "X"
    expiry_date: date | None  # tanggal habis berlaku
    optional_data: str = ""
    optional_data_2: str = ""  # TD1 line 2 only
    lines: tuple[str, ...]
    valid: bool
    failed_checks: tuple[str, ...] = ()

    def fields(self) -> dict[str, str | None]:
        """The nine fields the SOP (tpi-01 "Langkah Utama") records for every document scan."""
        return {
            "document_number": self.document_number,
            "document_type": self.document_code,
            "issuing_state": self.issuing_state,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "given_names": self.given_names,
            "surname": self.surname,
            "sex": self.sex,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "nationality": self.nationality,
        }

    def __repr__(self) -> str:
        # Never show MRZ lines or names in reprs that may end up in logs.
        return f"Mrz(format={self.format!r}, valid={self.valid}, failed_checks={self.failed_checks!r})"

    __str__ = __repr__
