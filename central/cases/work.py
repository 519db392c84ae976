"""The home page of work (/work) for every position, and the back office's administration.

- ``/work``: the steps waiting for the positions I hold (overdue first, then due soon, then the
  rest, and those waiting on an outside party apart), my notifications (the badge), and a button
  for every SOP my positions may start.
- ``/work/admin``: who holds which position, their contact for notices, the public holidays.
- ``/work/proposals``: entry bans proposed by deportations, recorded as the Directorate General decides.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from central.cases import calendar_store, service
from central.cases import positions as holders
from central.cases.errors import CaseRefused, DefinitionMissing
from central.cases.models import Case, Notification, WatchlistProposal
from central.cases.views import WORK, held, openable, position_title
from central.db import get_session
from central.models import utcnow
from central.roles import Role, authenticated, role_required
from central.services import audit
from central.views.common import actor, now_ms
from central.workflows import positions as vocabulary
from central.security.limits import parse_day

bp = Blueprint("work", __name__, url_prefix="/work", template_folder="templates")
PROPOSAL_DECIDERS = frozenset({"kabid_inteldakim", "kasi_intel", "kepala_kantor"})


def init_app(app: Flask) -> None:
    from central.navigation import NavEntry, add_entry

    app.register_blueprint(bp)
    add_entry(app, NavEntry("work.home", "My work", frozenset(Role), order=15,
                            description="My open steps, due soon and overdue, and the SOPs my positions may start"))
    add_entry(app, NavEntry("work.admin", "Positions and holidays", frozenset({Role.ADMIN}), order=83,
                            description="Who holds which position of the decree; the office's public holidays"))
    app.jinja_env.globals["work_badge"] = work_badge


def work_badge() -> int:
    """Unread notices of the logged-in officer: the number on the nav link to /work."""
    user = g.get("user")
    if user is None:
        return 0
    return get_session().scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def _settings() -> Any:
    from central.app import EXT_SETTINGS

    return current_app.extensions[EXT_SETTINGS].office


def my_work(session: Any, positions: frozenset[str], now: int, due_soon_s: int) -> dict[str, list[dict[str, Any]]]:
    """Open cases whose current step one of *positions* may take, sorted into the page's groups."""
    groups: dict[str, list[dict[str, Any]]] = {"overdue": [], "due_soon": [], "open": [], "waiting": []}
    if not positions:
        return groups
    rows = session.scalars(select(Case).where(Case.status == "open").order_by(Case.current_due_at, Case.id).limit(2000))
    for row in rows:
        try:
            definition = service.definition_of(row)
        except DefinitionMissing:
            continue  # its page says so; an administrator moves it (autogate sop migrate-case)
        step = definition.step(row.current_step) if row.current_step else None
        if step is None or not (set(step.positions) & positions) or not service.may_see(definition, g.user.role, positions):
            continue
        view = service.case_view(row, now)
        view["action"] = step.action_en
        view["positions"] = [p for p in step.positions if p in positions]
        due = view["clock"]["due_at_ms"]
        if step.waits_on:
            view["waits_on"] = step.waits_on
            groups["waiting"].append(view)
        elif view["clock"]["overdue"]:
            groups["overdue"].append(view)
        elif due is not None and due - now <= due_soon_s * 1000:
            groups["due_soon"].append(view)
        else:
            groups["open"].append(view)
    return groups


@bp.route("")
@authenticated
def home() -> str:
    session = get_session()
    mine = held()
    now = now_ms()
    notices = list(session.scalars(
        select(Notification).where(Notification.user_id == g.user.id, Notification.read_at.is_(None))
        .order_by(Notification.id.desc()).limit(50)))
    proposals = []
    if mine & PROPOSAL_DECIDERS:
        proposals = list(session.scalars(select(WatchlistProposal).where(WatchlistProposal.status == "proposed")))
    return render_template(
        "work/home.html", positions=sorted(mine), startable=openable(mine) if g.user.role in WORK else [],
        work=my_work(session, mine, now, _settings().due_soon_s), notices=notices, proposals=proposals, now_ms=now,
        due_soon_s=_settings().due_soon_s)


@bp.route("/notifications/read", methods=["POST"])
@authenticated
def read_notifications() -> Response:
    session = get_session()
    for notice in session.scalars(select(Notification).where(Notification.user_id == g.user.id,
                                                             Notification.read_at.is_(None))):
        notice.read_at = utcnow()
    session.commit()
    return redirect(url_for("work.home"))


# ------------------------------------------------------------------ administration


@bp.route("/admin")
@role_required(Role.ADMIN)
def admin() -> str:
    session = get_session()
    return render_template("work/admin.html", roster=holders.roster(session), assignable=vocabulary.ASSIGNABLE,
                           holidays=calendar_store.holidays(session),
                           contacts={u.id: holders.contact_of(session, u.id) for u, _ in holders.roster(session)})


@bp.route("/admin/positions/<username>", methods=["POST"])
@role_required(Role.ADMIN)
def set_positions(username: str) -> Response:
    session = get_session()
    try:
        kept = holders.set_positions(session, username, request.form.getlist("position"), actor())
        if "email" in request.form or "phone" in request.form:
            holders.set_contact(session, username, email=request.form.get("email"), phone=request.form.get("phone"),
                                actor=actor())
    except CaseRefused as exc:
        session.rollback()
        flash(f"Not changed: {exc}")
        return redirect(url_for("work.admin"))
    session.commit()
    flash(f"{username} holds: {', '.join(position_title(p) for p in kept) or 'no position'}")
    return redirect(url_for("work.admin"))


@bp.route("/admin/holidays", methods=["POST"])
@role_required(Role.ADMIN)
def add_holiday() -> Response:
    session = get_session()
    try:
        day = parse_day(request.form.get("day", ""))
        calendar_store.add_holiday(session, day, request.form.get("name", ""), actor())
    except (ValueError, CaseRefused) as exc:
        session.rollback()
        flash(f"Holiday not added: {exc}")
        return redirect(url_for("work.admin"))
    session.commit()
    return redirect(url_for("work.admin"))


@bp.route("/admin/holidays/<day>/delete", methods=["POST"])
@role_required(Role.ADMIN)
def remove_holiday(day: str) -> Response:
    session = get_session()
    try:
        calendar_store.remove_holiday(session, parse_day(day), actor())
    except (ValueError, CaseRefused) as exc:
        session.rollback()
        flash(f"Holiday not removed: {exc}")
        return redirect(url_for("work.admin"))
    session.commit()
    return redirect(url_for("work.admin"))


# ------------------------------------------------------------------ watchlist proposals (int-04)


@bp.route("/proposals/<int:proposal_id>", methods=["POST"])
@role_required(*WORK)
def decide_proposal(proposal_id: int) -> Response:
    """Record the Directorate General's decision on a proposed entry ban; an approval adds the
    watchlist entry, which the gates receive with the next version."""
    from central.watchlists import service as watchlists
    from central.errors import CentralError

    session = get_session()
    if not held() & PROPOSAL_DECIDERS:
        flash("Only the Head of Intelligence and Enforcement, the Head of Intelligence Section or the Head of Office "
              "records the decision on an entry ban")
        return redirect(url_for("work.home"))
    proposal = session.get(WatchlistProposal, proposal_id)
    if proposal is None or proposal.status != "proposed":
        flash("No such pending proposal")
        return redirect(url_for("work.home"))
    decision = request.form.get("decision")
    if decision == "approve":
        fields = {k: v for k, v in proposal.data.items()}
        for name in ("surname", "given_names", "birth_date", "nationality", "valid_until", "reason"):
            if request.form.get(name, "").strip():
                fields[name] = request.form[name].strip()
        try:
            entry = watchlists.build_entry(fields)
            watchlists.add_entry(session, entry, actor())
        except CentralError as exc:
            session.rollback()
            flash(f"Entry ban not added: {exc}")
            return redirect(url_for("work.home"))
        proposal.entry_id = entry.entry_id
        proposal.status = "approved"
    elif decision == "reject":
        proposal.status = "rejected"
    else:
        flash("Choose approve or reject")
        return redirect(url_for("work.home"))
    proposal.decided_by, proposal.decided_at = g.user.username, utcnow()
    audit.record(session, actor(), f"watchlist_proposal_{proposal.status}", target=f"watchlist_proposal:{proposal.id}",
                 details={"case": proposal.case_id, "entry": proposal.entry_id})
    session.commit()
    flash(f"Proposal {proposal.id}: {proposal.status}")
    return redirect(url_for("work.home"))
