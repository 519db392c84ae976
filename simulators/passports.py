"""The demo's passports: a data page rendered with the holder's photo, printed fields and the
MRZ in OCR-B, as the passport reader's camera images it. The gate reads it with the real MRZ
reader (``edge.gate.recognition.CameraMrzReader``); the chip's portrait (DG2) is the photo.

Rendering needs the OCR-B font (Debian fonts-ocr-b, public domain; ``edge.mrz.synth``). An
"unreadable" document has part of its MRZ worn away, so the reader really cannot read it.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from edge.gate.recognition import PresentedDocument
from edge.mrz.synth import OCRB_FONT, font_paths

_TEXT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
PITCH_PX = 18  # MRZ character pitch on the page image: a flat scan, well above the reader's floor


def can_render() -> bool:
    return bool(font_paths())


def render_data_page(lines: tuple[str, ...], fields: dict[str, str], photo: np.ndarray | None, *,
                     seed: int, readable: bool = True) -> np.ndarray:
    """The passport's data page (BGR): photo, printed fields, MRZ."""
    rng = np.random.default_rng(seed)
    width = int(len(lines[0]) * PITCH_PX * 1.12)
    height = int(width * 0.68)
    page = np.full((height, width, 3), (226, 232, 236), np.float32)
    page += rng.normal(0, 3, page.shape).astype(np.float32)
    image = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    text = ImageFont.truetype(_TEXT_FONT, 15)
    small = ImageFont.truetype(_TEXT_FONT, 11)
    draw.text((int(width * 0.04), 10), "REPUBLIK INDONESIA · PASPOR / PASSPORT", font=text, fill=(40, 40, 90))
    photo_w, photo_h = int(width * 0.22), int(width * 0.28)
    px, py = int(width * 0.04), 40
    if photo is not None:
        crop = cv2.resize(photo, (photo_w, photo_h), interpolation=cv2.INTER_AREA)
        image.paste(Image.fromarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)), (px, py))
    tx, ty = px + photo_w + 20, py
    for label, value in fields.items():
        draw.text((tx, ty), label, font=small, fill=(90, 90, 110))
        draw.text((tx, ty + 12), value, font=text, fill=(20, 20, 30))
        ty += 34
    mrz_font = ImageFont.truetype(str(OCRB_FONT), int(PITCH_PX * 1.55))
    my = height - int(PITCH_PX * 1.6) * len(lines) - 14
    mx = int((width - len(lines[0]) * PITCH_PX) / 2)
    for li, line in enumerate(lines):
        for ci, char in enumerate(line):
            left, _, right, _ = mrz_font.getbbox(char)
            cx = mx + ci * PITCH_PX + PITCH_PX / 2
            draw.text((cx - (left + right) / 2, my + li * int(PITCH_PX * 1.6)), char, font=mrz_font, fill=(15, 15, 15))
    if not readable:  # a worn, scratched MRZ: a third of both lines is gone
        x0 = mx + int(len(lines[0]) * PITCH_PX * rng.uniform(0.2, 0.45))
        draw.rectangle([x0, my - 4, x0 + int(len(lines[0]) * PITCH_PX * 0.35), height - 8], fill=(226, 232, 236))
    out = np.asarray(image)[..., ::-1].astype(np.float32)
    # the reader's camera: a slight tilt, a little blur and noise
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-1.5, 1.5), 1.0)
    out = cv2.warpAffine(out, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    out = cv2.GaussianBlur(out, (0, 0), 0.6) + rng.normal(0, 2.5, out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def presented_passport(traveler: object, photo: np.ndarray | None) -> PresentedDocument:
    """What the passport reader hands the gate for *traveler* (a ``SimTraveler``): the page image
    (no decoded lines: the gate's MRZ reader reads them) and the chip's portrait."""
    t = traveler
    fields = {
        "Nama keluarga / Surname": str(getattr(t, "surname")).upper(),
        "Nama / Given names": str(getattr(t, "given_names")).upper() or "-",
        "Kewarganegaraan / Nationality": str(getattr(t, "nationality")),
        "Tanggal lahir / Date of birth": getattr(t, "birth_date").strftime("%d %b %Y").upper(),
        "Jenis kelamin / Sex": str(getattr(t, "sex")),
        "Tanggal habis berlaku / Date of expiry": getattr(t, "expiry_date").strftime("%d %b %Y").upper(),
        "No. Paspor / Passport No.": str(getattr(t, "document_number")),
    }
    seed = int.from_bytes(str(getattr(t, "traveler_id")).encode()[:8].ljust(8, b"\0"), "big")
    page = render_data_page(tuple(getattr(t, "mrz_lines")), fields, photo, seed=seed,
                            readable=bool(getattr(t, "document_readable")))
    portrait = None
    if photo is not None:
        ok, data = cv2.imencode(".jpg", cv2.resize(photo, (120, 150), interpolation=cv2.INTER_AREA),
                                [cv2.IMWRITE_JPEG_QUALITY, 80])
        portrait = data.tobytes() if ok else None
    return PresentedDocument(mrz_lines=None, portrait_jpeg=portrait, image=page)
