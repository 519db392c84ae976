"""The demo's supervisor works through central's HTTP console like an officer: log in, see a
gate waiting, send a signed command with a reason (no browser needed)."""

from __future__ import annotations

import threading

import ui_harness as ui
from sqlalchemy import select

from central.models import AuditEntry, CommandRecord
from protocol import GateState
from simulators.supervisor import MAX_RETRIES, SupervisorBot


def waiting(gate: ui.Gate, transaction_id: str, retries: int) -> ui.Delivery:
    return gate.state(GateState(state="awaiting_supervisor", entry_door="locked", exit_door="locked",
                                since_ms=ui.now_ms(), direction="departure", transaction_id=transaction_id,
                                traveler=ui.HELD_TRAVELER, retries=retries))


def test_the_demo_supervisor_grants_a_retry_then_refers_through_central(tmp_path) -> None:
    with ui.running_central(tmp_path) as central:
        gate = central.add_gate("gt-bot1")
        username = central.add_user("supervisor")
        bot = SupervisorBot(central.url, username, ui.PASSWORD, threading.Event())
        bot.log_in()
        central.ingest(waiting(gate, "tx-b1", 0))
        bot.step()
        bot.step()  # the same wait is answered once
        central.ingest(waiting(gate, "tx-b1", MAX_RETRIES))
        bot.step()
        with central.database.session() as session:
            sent = session.scalars(select(CommandRecord).order_by(CommandRecord.id)).all()
            assert [(c.action, c.transaction_id, c.issued_by) for c in sent] == [
                ("grant_retry", "tx-b1", username), ("send_to_counter", "tx-b1", username)]
            assert all(c.reason.startswith("demo supervisor:") for c in sent)
            audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "command")).all()
            assert len(audited) == 2
        assert bot.commands_sent == 2 and len(central.publisher.sent) == 2  # signed and sent to the gate
