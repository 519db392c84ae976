"""Traveler-facing screen texts in Indonesian and English, one row per message key.

The machine only emits keys (``ShowMessage("document_unreadable")``); the screen adapter looks the
text up here, so wording changes never touch the transaction logic. A test checks that every
key the machine can emit has both languages.
"""

from __future__ import annotations

from typing import NamedTuple


class ScreenText(NamedTuple):
    id: str  # Bahasa Indonesia, shown first
    en: str


MESSAGES: dict[str, ScreenText] = {
    "idle": ScreenText("Silakan pindai paspor Anda", "Please scan your passport"),
    "reading_document": ScreenText("Membaca paspor, mohon tunggu", "Reading your passport, please wait"),
    "checking": ScreenText("Memeriksa dokumen, mohon tunggu", "Checking your document, please wait"),
    "entry_open": ScreenText("Silakan masuk", "Please enter"),
    "entry_closing": ScreenText("Pintu masuk menutup", "The entry door is closing"),
    "inside": ScreenText(
        "Letakkan jari telunjuk kanan pada pemindai",
        "Place your right index finger on the scanner",
    ),
    "fingerprint": ScreenText(
        "Memeriksa sidik jari, jangan angkat jari",
        "Checking your fingerprint, keep your finger still",
    ),
    "face": ScreenText("Lihat ke kamera", "Please look at the camera"),
    "awaiting_supervisor": ScreenText(
        "Mohon tunggu, petugas akan membantu Anda",
        "Please wait, an officer will assist you",
    ),
    "retry_fingerprint": ScreenText(
        "Silakan ulangi: letakkan jari pada pemindai",
        "Please try again: place your finger on the scanner",
    ),
    "retry_face": ScreenText("Silakan ulangi: lihat ke kamera", "Please try again: look at the camera"),
    # SOP B3 (decided): the held traveler is not told about the watchlist match.
    "held": ScreenText(
        "Mohon tunggu, petugas akan membantu Anda",
        "Please wait, an officer will assist you",
    ),
    "return_to_counter": ScreenText(
        "Silakan keluar melalui pintu masuk dan menuju konter manual",
        "Please leave through the entry door and go to a manual counter",
    ),
    "exit_open": ScreenText("Silakan lanjutkan. Selamat jalan", "Please proceed. Have a good journey"),
    "document_unreadable": ScreenText(
        "Paspor tidak dapat dibaca. Coba lagi, gunakan gerbang lain, atau menuju konter manual",
        "Your passport could not be read. Try again, use another gate or go to a manual counter",
    ),
    "document_invalid": ScreenText(
        "Dokumen tidak dapat diproses di gerbang otomatis. Silakan menuju konter manual",
        "This document cannot be used at the autogate. Please go to a manual counter",
    ),
    "passback_refused": ScreenText(
        "Paspor ini baru saja digunakan. Silakan menuju konter manual",
        "This passport was used a moment ago. Please go to a manual counter",
    ),
    "scan_timeout": ScreenText(
        "Waktu habis. Silakan pindai paspor Anda lagi",
        "Time is up. Please scan your passport again",
    ),
    "one_person_only": ScreenText(
        "Hanya satu orang. Silakan keluar melalui pintu masuk",
        "One person at a time. Please step back out",
    ),
    "out_of_service": ScreenText(
        "Gerbang tidak beroperasi. Silakan gunakan gerbang lain",
        "Gate closed. Please use another gate",
    ),
    "emergency": ScreenText("Keadaan darurat. Silakan keluar", "Emergency. Please leave the gate"),
    "fault": ScreenText(
        "Gerbang mengalami gangguan. Mohon tunggu petugas",
        "The gate has a fault. Please wait for an officer",
    ),
}


def text(key: str, language: str = "id") -> str:
    """The screen text of *key* in ``"id"`` or ``"en"``; the key itself if unknown."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    return entry.en if language == "en" else entry.id
