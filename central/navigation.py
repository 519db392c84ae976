"""The navigation bar: one entry per page a role may open, as data.

Each area adds its pages with one :class:`NavEntry` (``add_entry(app, ...)`` in its ``init_app``,
or a row in :data:`NAVIGATION` for central's own pages). The bar shows a user the entries whose
roles include theirs and whose endpoint this app serves (an area that is not deployed simply has
no entry), in ``order``. The home page lists the same entries with their descriptions, so a page
no link reaches does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import Flask, current_app, g, request, url_for

from central.roles import Role

EXT_NAVIGATION = "autogate.navigation"

OPERATIONS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE})
REPORTING = OPERATIONS | {Role.REPORT_ONLY}


@dataclass(frozen=True)
class NavEntry:
    """One page in the bar. *label* and *description* are English, translated when shown."""

    endpoint: str
    label: str
    roles: frozenset[str]
    order: int = 100
    description: str = ""
    # Other endpoints that belong to this entry (its sub-pages), so the bar marks it current.
    also: tuple[str, ...] = field(default=())


NAVIGATION: tuple[NavEntry, ...] = (
    NavEntry("auth.index", "Home", frozenset(Role), order=0),
    NavEntry("console.page", "Supervisor console", frozenset({Role.SUPERVISOR, Role.ADMIN}), order=10,
             description="Gates live, alarms, holds and retries (pengawas autogate)"),
    NavEntry("cases.index", "Cases", frozenset(Role), order=20,
             description="Escalations and SOP workflows: cekal, Interpol, referrals to the counter",
             also=("cases.detail", "cases.new")),
    NavEntry("watchlist.index", "Watchlist", frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER}), order=30,
             description="Cekal entries (pencegahan, penangkalan) and Interpol lists published to the gates"),
    NavEntry("reports.crossings_page", "Crossings", OPERATIONS, order=40,
             description="Search crossings (perlintasan) by document, name, gate and date"),
    NavEntry("reports.daily_page", "Daily recap", REPORTING, order=50,
             description="One day's crossings, refusals and holds (rekapitulasi harian)"),
    NavEntry("reports.gates_page", "Gate statistics", REPORTING, order=60,
             description="Throughput, rejection rates and step times against the SOP standards"),
    NavEntry("admin.users", "Users", frozenset({Role.ADMIN}), order=80,
             description="Create accounts, assign roles, disable, reset passwords", also=("admin.user",)),
    NavEntry("admin.gates", "Gates", frozenset({Role.ADMIN}), order=81,
             description="Register gates, rotate their keys, take them out of service", also=("admin.gate",)),
    NavEntry("admin.audit", "Audit log", frozenset({Role.ADMIN}), order=82,
             description="Every officer action: who, what, when, from where"),
)


def add_entry(app: Flask, entry: NavEntry) -> None:
    """Put *entry* in *app*'s bar (an area's ``init_app`` calls this for its page)."""
    entries = app.extensions.setdefault(EXT_NAVIGATION, list(NAVIGATION))
    if all(e.endpoint != entry.endpoint for e in entries):
        entries.append(entry)


def entries_for(role: str | None, entries: Iterable[NavEntry], endpoints: Iterable[str]) -> list[NavEntry]:
    """The entries *role* sees, among those whose endpoint exists, in order (pure)."""
    if role is None:
        return []
    served = set(endpoints)
    return sorted((e for e in entries if role in e.roles and e.endpoint in served), key=lambda e: (e.order, e.label))


def current_entries() -> list[NavEntry]:
    """The bar for the logged-in user of this request."""
    user = g.get("user")
    entries = current_app.extensions.get(EXT_NAVIGATION, NAVIGATION)
    return entries_for(user.role if user else None, entries, current_app.view_functions)


def is_current(entry: NavEntry) -> bool:
    return request.endpoint == entry.endpoint or request.endpoint in entry.also


def init_app(app: Flask) -> None:
    app.extensions.setdefault(EXT_NAVIGATION, list(NAVIGATION))
    app.jinja_env.globals["nav_entries"] = current_entries
    app.jinja_env.globals["nav_is_current"] = is_current
    app.jinja_env.globals["nav_url"] = lambda entry: url_for(entry.endpoint)
