"""The demo's logins: one per role, holding the positions each needs to do its job on the first day.

A role opens pages; a position takes SOP steps (``central.workflows.positions``). A new account
gets only its role's default positions, and the back office's are never implied, so a demo whose
back-office login held none could open no SOP at all: no passport application, no stay permit.
The demo therefore gives its back-office officer the travel-document and stay-permit officers'
positions and adds the heads of those sections as a second back-office login, the approver an
application needs (whoever did a step may not approve it); likewise the checkpoint's heads on duty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    positions: tuple[str, ...] = ()  # beyond the role's defaults
    job: str = ""  # what this login is for, as the banner prints it


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("demo_admin", "admin", job="users, gates, positions, audit log"),
    DemoAccount("demo_supervisor", "supervisor", job="the supervisor console: alarms, holds, referrals"),
    # The checkpoint's heads on duty: it-05's confirmation and hold, tpi-05's decision, the Kabid's
    # memo (tpi-03/04/06). Without them every CCTV alarm case stopped at the Kasi's check.
    DemoAccount("demo_kasi_tpi", "supervisor", ("kasi_unit_tpi", "kasi_pemeriksaan", "kabid_tpi"),
                job="heads of checkpoint unit, examination and division: confirm, decide, sign"),
    DemoAccount("demo_cctv_operator", "cctv_operator", job="the CCTV alarm queue"),
    DemoAccount("demo_officer", "officer", job="counter: crossings, watchlist, referred travellers"),
    DemoAccount("demo_backoffice", "backoffice", ("petugas_dokjal", "petugas_intalkim"),
                job="travel documents and stay permits: starts applications"),
    DemoAccount("demo_kasi_backoffice", "backoffice", ("kasi_dokjal", "kasi_intalkim"),
                job="head of travel documents and of stay permits: approves"),
    # The rest of the office, so that every one of the 38 SOPs can be walked in the demo: the
    # intelligence and enforcement section (int-*), IT, information and the treasurer (it-*, the
    # fee steps), and the head of office, who signs decision letters (tpi-09's SK) and
    # endorsements. Doers and approvers are separate logins, as separation of duties requires.
    DemoAccount("demo_intel", "backoffice", ("petugas_inteldakim",),
                job="intelligence and enforcement officer: investigations, detention, deportation"),
    DemoAccount("demo_kasi_intel", "backoffice", ("kasi_intel", "kasi_penindakan", "kabid_inteldakim"),
                job="heads of intelligence, enforcement and their division: approve"),
    DemoAccount("demo_it", "backoffice",
                ("petugas_tik", "pusdata_admin", "customer_service", "tata_usaha", "bendahara"),
                job="IT, data centre, customer service, administration and treasurer: IT and service SOPs"),
    DemoAccount("demo_kasi_it", "backoffice", ("kasi_tik", "kabid_tikkim", "kasi_ikom"),
                job="heads of IT, information and their division: approve"),
    DemoAccount("demo_kepala_kantor", "supervisor", ("kepala_kantor",),
                job="head of office (Kakanim): signs decision letters and endorsements"),
    DemoAccount("demo_report_only", "report_only", job="reports and service standards"),
)


def create_accounts(session: Session, password_for: Callable[[str], str]) -> dict[str, str]:
    """Create every demo login (audited as the demo) and return username -> password."""
    from central.cases.positions import positions_of, set_positions
    from central.services import audit, users

    logins: dict[str, str] = {}
    actor = audit.Actor("demo", None)
    for account in DEMO_ACCOUNTS:
        password = password_for(account.username)
        users.create_user(session, account.username, account.role, password)
        audit.record(session, actor, "user_create", f"user:{account.username}", {"role": account.role})
        session.flush()  # the role's default positions are written on insert
        if account.positions:
            held = positions_of(session, account.username)
            set_positions(session, account.username, sorted({*held, *account.positions}), actor)
        logins[account.username] = password
    return logins
