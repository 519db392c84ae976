"""Turning untrusted bytes off the wire into a JSON document, within fixed bounds.

Every receiver (central's ingest, a gate's command intake, camera nodes) reads bytes that anyone
with broker access could have written. ``json.loads`` alone is not safe on such bytes: 30,000
``[`` raise :class:`RecursionError`, a 50,000-digit number raises a bare :class:`ValueError`, and
a body of megabytes costs memory before anything has been checked. A receiver that lets any of
these escape leaves the message unacknowledged and the broker redelivers it for ever (issue 18).

:func:`decode_json` therefore bounds the size first, then the nesting depth with a linear scan
that never recurses, and only then parses; whatever still goes wrong becomes
:class:`~protocol.errors.MalformedMessage`, the one error a receiver already handles.
"""

from __future__ import annotations

import json
import re
from typing import Any

from protocol.errors import MalformedMessage

# The deepest real message (a watchlist snapshot entry inside an envelope) nests about 6 levels.
MAX_JSON_DEPTH = 32

# A JSON string with its escapes: brackets inside strings do not nest anything.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth_exceeds(data: bytes, max_depth: int) -> bool:
    """Whether *data* opens more than *max_depth* nested arrays/objects (strings ignored).

    A linear scan with no recursion, so it cannot itself be exhausted by the input it guards.
    An unterminated string leaves its brackets counted, which can only make a broken body look
    deeper: it is refused either way.
    """
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def decode_json(data: bytes, *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse *data* as UTF-8 JSON, or raise :class:`MalformedMessage` saying why not."""
    if len(data) > max_bytes:
        raise MalformedMessage(f"message of {len(data)} bytes exceeds {max_bytes}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage(f"not UTF-8: {exc.reason} at byte {exc.start}") from exc
    if json_depth_exceeds(data, max_depth):
        raise MalformedMessage(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedMessage(f"not JSON: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        # ValueError: a number beyond Python's int digit limit; RecursionError should be
        # impossible after the depth check, but a parse must never escape as anything else.
        raise MalformedMessage(f"JSON cannot be decoded: {type(exc).__name__}: {str(exc)[:120]}") from exc
