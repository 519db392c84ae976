"""The UI in English and Indonesian (Bahasa Indonesia).

Strings are written in English in templates and scripts and looked up in
:data:`central.i18n_table.INDONESIAN`; a missing entry falls back to the English text, so a new
string never breaks a page (a test lists strings that lack a translation). The language is the
session's choice (the toggle in the header), else the browser's Accept-Language, else English.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import Blueprint, Flask, g, request, session
from werkzeug.wrappers import Response

from central.i18n_table import ENGLISH_LABELS, INDONESIAN
from central.roles import public
from central.security.redirects import redirect_back

log = logging.getLogger(__name__)

ENGLISH = "en"
LANGUAGES = ("en", "id")
SESSION_KEY = "lang"

bp = Blueprint("i18n", __name__)


CODED_KINDS = frozenset({
    "state", "door", "severity", "mrz", "outcome", "command", "alarm", "list", "alert", "role", "audit", "command_status", "step", "case_status",
})


def translate(text: str, language: str) -> str:
    if language == "id" and text in INDONESIAN:
        return INDONESIAN[text]
    if text in ENGLISH_LABELS:
        return ENGLISH_LABELS[text]
    kind, _, code = text.partition(".")
    if kind in CODED_KINDS and code:
        return code.replace("_", " ")  # a code new since the table was written: still readable
    return text


def current_language() -> str:
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    # Once per request: a page calls _() thousands of times, and parsing Accept-Language each
    # time was a fifth of the time a report page took.
    negotiated = g.get("_accept_language")
    if negotiated is None:
        negotiated = g._accept_language = request.accept_languages.best_match(LANGUAGES, default=ENGLISH) or ENGLISH
    return negotiated


def gettext(text: str, **values: object) -> str:
    """``_()`` in templates: the text in the request's language, ``{name}`` filled from *values*."""
    translated = translate(text, current_language())
    return translated.format(**values) if values else translated


def strings_for(texts: Iterable[str], language: str) -> dict[str, str]:
    """A table for the browser scripts, which cannot call ``_()``."""
    return {text: translate(text, language) for text in texts}


@bp.route("/lang", methods=["POST"])
@public  # a display preference only; it must also work on the login page
def choose_language() -> Response:
    language = request.form.get("lang", "")
    if language in LANGUAGES:
        session[SESSION_KEY] = language
    return redirect_back(request.form.get("next"))  # the toggle must not become an open redirect


def init_app(app: Flask) -> None:
    app.jinja_env.globals["_"] = gettext
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.register_blueprint(bp)
