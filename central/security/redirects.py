"""The one place a redirect target taken from the user (``?next=``, a form's ``next``) is checked.

Browsers are lenient: they drop tabs and newlines inside a URL, read a backslash as a slash and
``/\\evil.example`` or ``/%09/evil.example`` as ``//evil.example`` -- another origin. So the
target is normalised the way a browser would first, and only a same-origin path survives;
anything else sends the user home.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit

from flask import redirect, url_for
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

# What the WHATWG URL parser strips anywhere in a URL (tab, LF, CR), plus the C0 controls and
# space it trims at the ends: a target holding any of them is refused outright.
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
MAX_TARGET_LENGTH = 2048


def is_safe_target(target: str | None) -> bool:
    """True only for a same-origin absolute path such as ``/cases/3?tab=notes``."""
    if not target or len(target) > MAX_TARGET_LENGTH:
        return False
    # Percent-decoded as well: a target is decoded once more by anything that re-reads it.
    for candidate in (target, unquote(target)):
        if _CONTROL.search(candidate) or "\\" in candidate:
            return False
        if not candidate.startswith("/") or candidate.startswith("//"):
            return False
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return False
    return True


def safe_target(target: str | None, default_endpoint: str = "auth.index") -> str:
    """*target* when it is a same-origin path, else the URL of *default_endpoint*."""
    if is_safe_target(target):
        return str(target)
    if target:
        log.warning("redirect: refused off-site or malformed target %r", target[:200])
    return url_for(default_endpoint)


def redirect_back(target: str | None, default_endpoint: str = "auth.index") -> Response:
    """A redirect to a user-supplied target, made safe; the only way views redirect to one."""
    return redirect(safe_target(target, default_endpoint))
