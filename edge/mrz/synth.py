"""Synthetic MRZ documents: random valid field sets and photo-like renders of them.

Used by the model's training script (models/mrz/train_mrz_ocr.py), the synthetic benchmark and the
reader's tests. Rendering needs the OCR-B font from the Debian package fonts-ocr-b (public domain);
``font_paths()`` lists what is installed. Everything is driven by a ``numpy.random.Generator``
so a seed reproduces a set exactly. No real person's data is ever produced: names are made of
random syllables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from edge.mrz.compose import (
    compose_mrva,
    compose_mrvb,
    compose_td1,
    compose_td2,
    compose_td3,
)

OCRB_FONT = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
_OTHER_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)
_TEXT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_SYLLABLES = ["BU", "DI", "SAN", "TO", "SO", "SI", "TI", "NUR", "HA", "LI", "ZA", "AG", "US", "WA", "YU", "NI", "DE", "WI", "PUT", "RI", "AN", "DRE", "AS", "MA", "RIA", "KO", "BAYU", "JO", "HAN", "SEN", "LEE", "KIM", "MU", "EL", "LER", "ER", "IKS", "SON", "OK", "TA", "VIA", "RAH", "MAN"]
_STATES = ("IDN", "UTO", "D", "GBR", "FRA", "NLD", "USA", "JPN", "MYS", "SGP", "AUS", "UNO", "XXA", "CHN")
FORMAT_WEIGHTS = {"TD3": 0.45, "TD1": 0.3, "TD2": 0.1, "MRVA": 0.08, "MRVB": 0.07}


@dataclass(frozen=True)
class SyntheticDocument:
    """A rendered document image (BGR) and the MRZ lines printed on it."""

    image: np.ndarray
    lines: tuple[str, ...]
    format: str
    pitch_px: float = 0.0  # the MRZ's character pitch in the image, along the lines at the page centre


def font_paths() -> list[Path]:
    """Installed fonts used for MRZ text, OCR-B first; empty when OCR-B is missing."""
    if not OCRB_FONT.is_file():
        return []
    return [OCRB_FONT] + [p for p in _OTHER_FONTS if p.is_file()]


def _name(rng: np.random.Generator, max_words: int) -> str:
    words = []
    for _ in range(int(rng.integers(1, max_words + 1))):
        words.append("".join(rng.choice(_SYLLABLES, size=int(rng.integers(1, 4)))))
    return " ".join(words)


def _alnum(rng: np.random.Generator, n: int, digits_only: bool = False) -> str:
    alphabet = "0123456789" if digits_only else "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(list(alphabet), size=n))


def random_lines(rng: np.random.Generator, fmt: str | None = None, today: date = date(2026, 1, 1)) -> tuple[str, tuple[str, ...]]:
    """A random, valid MRZ (format, lines), including the quirks seen in the field."""
    if fmt is None:
        fmt = str(rng.choice(list(FORMAT_WEIGHTS), p=list(FORMAT_WEIGHTS.values())))
    single = rng.random()
    surname, given = _name(rng, 2), _name(rng, 3)
    if single < 0.1:
        given = ""
    elif single < 0.15:
        surname = ""
    nationality = str(rng.choice(_STATES))
    issuing = nationality if rng.random() < 0.8 else str(rng.choice(_STATES))
    number = _alnum(rng, int(rng.integers(6, 10)), digits_only=rng.random() < 0.4)
    birth = today - timedelta(days=int(rng.integers(0, 36500)))
    expiry = today + timedelta(days=int(rng.integers(-3650, 3650)))
    sex = str(rng.choice(["M", "F", "X"], p=[0.48, 0.48, 0.04]))
    fields = {
        "surname": surname, "given_names": given, "document_number": number, "nationality": nationality,
        "birth_date": birth, "sex": sex, "expiry_date": expiry, "issuing_state": issuing,
    }
    opt = _alnum(rng, int(rng.integers(0, 12))) if rng.random() < 0.5 else ""
    if fmt == "TD3":
        return fmt, compose_td3(**fields, document_code=str(rng.choice(["P", "PA", "PD", "PS"], p=[0.85, 0.05, 0.05, 0.05])), optional_data=opt[:14])
    if fmt == "MRVA":
        return fmt, compose_mrva(**fields, document_code=str(rng.choice(["V", "VN", "VC"])), optional_data=opt[:16])
    if fmt == "MRVB":
        return fmt, compose_mrvb(**fields, document_code=str(rng.choice(["V", "VN", "VC"])), optional_data=opt[:8])
    code = str(rng.choice(["I", "ID", "IR", "AR", "C"]))
    if fmt == "TD2":
        return fmt, compose_td2(**fields, document_code=code, optional_data=opt[:7])
    if rng.random() < 0.1:
        fields["document_number"] = _alnum(rng, int(rng.integers(10, 14)))
        opt = opt[:8]
    return fmt, compose_td1(**fields, document_code=code, optional_data=opt[:8], optional_data_2=_alnum(rng, int(rng.integers(0, 11))))


def _texture(rng: np.random.Generator, h: int, w: int, base: np.ndarray, amount: float) -> np.ndarray:
    noise = rng.normal(0, 1, (max(2, h // 8), max(2, w // 8), 1)).astype(np.float32)
    noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    fine = rng.standard_normal((h, w, 1), dtype=np.float32)
    img = base[None, None, :] + amount * (12 * noise + 4 * fine)
    return img


def _page(rng: np.random.Generator, lines: tuple[str, ...], font: Path, pitch: int) -> np.ndarray:
    """A flat document page with the MRZ at the bottom, at *pitch* pixels per character."""
    n = len(lines[0])
    mrz_w = n * pitch
    page_w = int(mrz_w * rng.uniform(1.08, 1.2))
    page_h = int(page_w * rng.uniform(0.6, 0.72))
    base = np.array(rng.uniform(170, 250, 3), dtype=np.float32)
    page = _texture(rng, page_h, page_w, base, rng.uniform(0.2, 1.2))
    # guilloche-like background lines
    yy, xx = np.ogrid[0:page_h, 0:page_w]
    yy, xx = yy.astype(np.float32), xx.astype(np.float32)
    for _ in range(int(rng.integers(0, 3))):
        f = rng.uniform(0.005, 0.05)
        wave = np.sin(xx * f + np.sin(yy * f * rng.uniform(0.5, 2)) * rng.uniform(1, 6))
        page -= (wave[..., None] > 0.97) * rng.uniform(10, 50) * rng.uniform(0.3, 1, 3)[None, None, :]
    img = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    # photo block and printed data, as distractors (random draws in a fixed order, so a seed
    # renders the same document whatever is clipped below)
    ph_w = int(page_w * rng.uniform(0.2, 0.3))
    x0, y0 = int(page_w * 0.05), int(page_h * 0.12)
    photo_color = tuple(int(c) for c in rng.uniform(40, 200, 3))
    face_color = tuple(int(c) for c in rng.uniform(80, 230, 3))
    text_font = ImageFont.truetype(str(_TEXT_FONT), max(6, int(pitch * rng.uniform(0.7, 1.3))))
    tx = x0 + ph_w + int(page_w * 0.04)
    ty = int(page_h * 0.08)
    texts = []
    for _ in range(int(rng.integers(3, 9))):
        words = " ".join(_name(rng, 2) if rng.random() < 0.6 else _alnum(rng, int(rng.integers(2, 10))) for _ in range(int(rng.integers(1, 4))))
        texts.append((ty, words, tuple(int(c) for c in rng.uniform(0, 90, 3))))
        ty += int(pitch * rng.uniform(1.6, 2.8))
        if ty > page_h * 0.6:
            break
    # MRZ, one glyph per fixed-pitch cell as ICAO 9303 prints it
    size = int(pitch * rng.uniform(1.45, 1.7))
    mrz_font = ImageFont.truetype(str(font), size)
    line_gap = int(size * rng.uniform(1.15, 1.6))
    mx = int((page_w - mrz_w) * rng.uniform(0.35, 0.65))
    bottom_margin = int(page_h * rng.uniform(0.04, 0.1))
    my = page_h - bottom_margin - line_gap * len(lines)
    # ICAO 9303 keeps a clear zone above the MRZ: nothing else is printed into its lines
    clear_top = my - pitch // 2
    photo_bottom = min(y0 + int(ph_w * 1.25), clear_top)
    if photo_bottom > y0 + ph_w // 2:
        draw.rectangle([x0, y0, x0 + ph_w, photo_bottom], fill=photo_color)
        draw.ellipse([x0 + ph_w * 0.2, y0 + ph_w * 0.2, x0 + ph_w * 0.8, min(y0 + ph_w * 1.0, photo_bottom - ph_w * 0.1)], fill=face_color)
    for ty, words, color in texts:
        if ty + text_font.size * 1.3 < clear_top:
            draw.text((tx, ty), words, font=text_font, fill=color)
    ink = tuple(int(c) for c in rng.uniform(0, 60, 3))
    jitter = rng.uniform(0, 0.06) * pitch
    for li, line in enumerate(lines):
        for ci, ch in enumerate(line):
            left, _, right, _ = mrz_font.getbbox(ch)
            cx = mx + ci * pitch + pitch / 2 + rng.normal(0, jitter)
            draw.text((cx - (left + right) / 2, my + li * line_gap), ch, font=mrz_font, fill=ink)
    return np.asarray(img)[..., ::-1].copy()


def degrade(
    rng: np.random.Generator, page: np.ndarray, *, max_angle_deg: float = 8.0, full_rotation_p: float = 0.1,
) -> tuple[np.ndarray, float]:
    """Place *page* on a background with perspective, rotation, light, glare, blur, noise and JPEG;
    also how much the placing stretched the page's rows at its centre (image px per page px)."""
    h, w = page.shape[:2]
    out_w = int(w * rng.uniform(1.05, 1.5))
    out_h = int(max(h * rng.uniform(1.1, 1.6), out_w * rng.uniform(0.6, 0.8)))
    bg = _texture(rng, out_h, out_w, np.array(rng.uniform(20, 235, 3), dtype=np.float32), rng.uniform(0.5, 2.5))
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    cx, cy = out_w / 2 + rng.normal(0, out_w * 0.03), out_h / 2 + rng.normal(0, out_h * 0.03)
    angle = rng.uniform(0, 360) if rng.random() < full_rotation_p else rng.normal(0, max_angle_deg / 2)
    scale = min(out_w / w, out_h / h) * rng.uniform(0.75, 0.95)
    if abs(((angle + 45) % 90) - 45) > 10:
        scale *= 0.7
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    rot[:, 2] += (cx - w / 2, cy - h / 2)
    dst = cv2.transform(src[None], rot)[0]
    dst += rng.normal(0, 0.02, dst.shape).astype(np.float32) * np.float32([w * scale, h * scale])
    # keep the whole page in the frame: an MRZ cut by the frame edge is not a reading task
    lo, hi = dst.min(axis=0), dst.max(axis=0)
    fit = min(1.0, 0.98 * out_w / (hi[0] - lo[0]), 0.98 * out_h / (hi[1] - lo[1]))
    dst = (dst - (lo + hi) / 2) * fit + np.float32([out_w / 2, out_h / 2])
    dst += np.float32(rng.uniform(-1, 1, 2)) * np.maximum(0, np.float32([out_w, out_h]) - (hi - lo) * fit) / 2 * 0.9
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    stretch = _row_stretch(matrix, w / 2, h / 2)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    warped = cv2.warpPerspective(page.astype(np.float32), matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    img = bg * (1 - mask[..., None]) + warped * mask[..., None]
    # lighting gradient and glare
    yy, xx = np.ogrid[0:out_h, 0:out_w]
    yy, xx = yy.astype(np.float32), xx.astype(np.float32)
    gx, gy = rng.normal(0, 1, 2)
    light = 1 + rng.uniform(0, 0.35) * (gx * (xx / out_w - 0.5) + gy * (yy / out_h - 0.5))
    img *= light[..., None].astype(np.float32)
    if rng.random() < 0.3:
        gx0, gy0 = rng.uniform(0, out_w), rng.uniform(0, out_h)
        rad = rng.uniform(0.05, 0.25) * out_w
        glare = np.exp(-((xx - gx0) ** 2 + (yy - gy0) ** 2) / (2 * rad**2))
        img += glare[..., None] * np.float32(rng.uniform(40, 140))
    blur = rng.uniform(0, 1.4)
    if blur > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(0, 9))
    img = np.clip(img, 0, 255).astype(np.uint8)
    quality = int(rng.integers(30, 95))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return (cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else img), stretch


def _row_stretch(homography: np.ndarray, x: float, y: float) -> float:
    """Image pixels per page pixel along a page row at (x, y): the length of the homography's
    derivative along x there."""
    q = homography @ np.array([x, y, 1.0])
    d = (homography[:2, 0] * q[2] - q[:2] * homography[2, 0]) / q[2] ** 2
    return float(np.hypot(d[0], d[1]))


def random_document(rng: np.random.Generator, *, fmt: str | None = None, pitch_px: tuple[int, int] = (7, 22), **degrade_kwargs: float) -> SyntheticDocument:
    """A random MRZ rendered on a random page and photographed badly."""
    if not font_paths():
        raise FileNotFoundError(f"OCR-B font not found at {OCRB_FONT} (apt-get install fonts-ocr-b)")
    fmt, lines = random_lines(rng, fmt)
    return render_document(rng, lines, fmt, pitch_px=pitch_px, **degrade_kwargs)


def render_document(
    rng: np.random.Generator, lines: tuple[str, ...], fmt: str, *, pitch_px: tuple[int, int] = (7, 22), **degrade_kwargs: float
) -> SyntheticDocument:
    """Given MRZ lines (valid or not, e.g. a tampered check digit) on a random page, photographed badly."""
    fonts = font_paths()
    if not fonts:
        raise FileNotFoundError(f"OCR-B font not found at {OCRB_FONT} (apt-get install fonts-ocr-b)")
    weights = np.array([0.8] + [0.2 / max(1, len(fonts) - 1)] * (len(fonts) - 1))
    font = fonts[int(rng.choice(len(fonts), p=weights / weights.sum()))]
    pitch = int(rng.integers(pitch_px[0], pitch_px[1] + 1))
    render_pitch = max(pitch, 16)  # render sharp, then scale down to the target pitch
    page = _page(rng, lines, font, render_pitch)
    if render_pitch != pitch:
        f = pitch / render_pitch
        page = cv2.resize(page, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    image, stretch = degrade(rng, page, **degrade_kwargs)
    return SyntheticDocument(image=image, lines=tuple(lines), format=fmt, pitch_px=pitch * stretch)
