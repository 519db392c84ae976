"""The demo's supervisor works through central's HTTP console like an officer: log in, see a
gate waiting, send a signed command with a reason (no browser needed)."""

from __future__ import annotations

import threading

import ui_harness as ui
from sqlalchemy import select

from central.models import AuditEntry, CommandRecord
from protocol import GateState
from simulators.supervisor import SupervisorBot

MAX_RETRIES = 2  # GateConfig.max_retries: the gate stops offering a retry then


def waiting(gate: ui.Gate, transaction_id: str, retries: int) -> ui.Delivery:
    commands = ("grant_retry", "send_to_counter") if retries < MAX_RETRIES else ("send_to_counter",)
    return gate.state(GateState(state="awaiting_supervisor", entry_door="locked", exit_door="locked",
                                since_ms=ui.now_ms(), direction="departure", transaction_id=transaction_id,
                                traveler=ui.HELD_TRAVELER, retries=retries, commands=commands))


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


def test_the_demo_supervisor_releases_a_hold_once_the_officers_had_time_and_clears_a_lingering_lane(tmp_path) -> None:
    with ui.running_central(tmp_path) as central:
        gate = central.add_gate("gt-bot2")
        username = central.add_user("supervisor")
        bot = SupervisorBot(central.url, username, ui.PASSWORD, threading.Event(), release_after_s=8,
                            lane_clear_after_s=45)
        bot.log_in()
        held = GateState(state="held", entry_door="locked", exit_door="locked", direction="departure",
                         transaction_id="tx-h1", traveler=ui.HELD_TRAVELER, commands=("release_held",),
                         since_ms=ui.now_ms())
        central.ingest(gate.state(held))
        bot.step()  # just held: the officers are on their way
        central.ingest(gate.state(held.model_copy(update={"since_ms": ui.now_ms() - 10_000})))
        bot.step()
        central.ingest(gate.state(GateState(state="return_to_counter", entry_door="open", exit_door="locked",
                                            direction="departure", transaction_id="tx-h1",
                                            commands=("lane_clear",), since_ms=ui.now_ms() - 50_000)))
        bot.step()
        with central.database.session() as session:
            sent = session.scalars(select(CommandRecord).order_by(CommandRecord.id)).all()
            assert [c.action for c in sent] == ["release_held", "lane_clear"]
