"""Overdue steps notify the positions that own them, and outgoing messages leave through an adapter.

``sweep_overdue`` finds open cases whose current step is past its due time and not yet notified,
and gives every active holder of the step's positions an in-app notice (the badge on /work) and,
where the officer has a contact, an outgoing message. ``dispatch`` sends queued outgoing messages
(those notices, and the applicant messages the workflows queue) through a :class:`MessageSender`
and records each one's delivery status. ``OfficeWorker`` runs both on a timer inside ``serve``;
``autogate central office-sweep`` runs them once (for cron).

Senders: ``LogSender`` (writes the log only: the default, nothing leaves the machine),
``SmtpSender`` (e-mail), ``WebhookSender`` (an HTTP WhatsApp/SMS provider, bearer token).
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.cases import positions as holders
from central.cases import service
from central.cases.errors import DefinitionMissing
from central.cases.models import Case, GatewayMessage, Notification
from central.cases.settings import OfficeSettings
from central.db import Database
from central.models import from_ms, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str  # email / whatsapp / sms
    address: str
    text: str
    subject: str = "Autogate"


@dataclass(frozen=True)
class SendResult:
    status: str  # sent / failed
    provider_id: str | None = None
    error: str | None = None


class MessageSender(Protocol):
    """Where outgoing messages go: e-mail, a WhatsApp/SMS provider, or only the log."""

    def send(self, message: OutgoingMessage) -> SendResult: ...


class LogSender:
    def send(self, message: OutgoingMessage) -> SendResult:
        log.info("outgoing %s to %s: %s", message.channel, message.address[:4] + "…", message.text[:80])
        return SendResult("logged")


class SmtpSender:
    def __init__(self, host: str, port: int, sender: str, *, timeout_s: float = 5.0) -> None:
        self.host, self.port, self.sender, self.timeout_s = host, port, sender, timeout_s

    def send(self, message: OutgoingMessage) -> SendResult:
        if message.channel != "email":
            return SendResult("failed", error=f"the SMTP adapter sends e-mail, not {message.channel}")
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.address, message.subject
        mail.set_content(message.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult("failed", error=f"smtp {self.host}:{self.port}: {exc}"[:500])
        return SendResult("sent")


class WebhookSender:
    """POSTs ``{"to", "channel", "text"}`` to the provider; its JSON reply's ``id`` is kept, so its
    delivery receipts (``/api/v1/gateway/receipts``) find the message."""

    def __init__(self, url: str, token: str | None, *, timeout_s: float = 5.0) -> None:
        self.url, self.token, self.timeout_s = url, token, timeout_s

    def send(self, message: OutgoingMessage) -> SendResult:
        body = json.dumps({"to": message.address, "channel": message.channel, "text": message.text}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": "application/json"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - configured URL
                reply = json.loads(response.read() or b"{}")
        except (OSError, ValueError, urllib.error.URLError) as exc:
            return SendResult("failed", error=f"provider: {exc}"[:500])
        return SendResult("sent", provider_id=str(reply.get("id"))[:100] if isinstance(reply, dict) and reply.get("id") else None)


def sender_from_settings(office: OfficeSettings) -> MessageSender:
    if office.outgoing == "smtp":
        return SmtpSender(office.smtp_host, office.smtp_port, office.smtp_sender, timeout_s=office.send_timeout_s)
    if office.outgoing == "webhook" and office.webhook_url:
        token = office.webhook_token.get_secret_value() if office.webhook_token else None
        return WebhookSender(office.webhook_url, token, timeout_s=office.send_timeout_s)
    return LogSender()


def sweep_overdue(session: Session, now_ms: int) -> int:
    """Notify the holders of every overdue step's positions, once per step; returns notices made."""
    made = 0
    now = from_ms(now_ms)
    overdue = session.scalars(select(Case).where(Case.status == "open", Case.current_due_at.is_not(None),
                                                Case.current_due_at < now, Case.overdue_notified_at.is_(None)))
    for row in overdue:
        try:
            definition = service.definition_of(row)
        except DefinitionMissing:
            continue  # logged by definition_of; nobody can take the step until the case is moved
        step = definition.step(row.current_step) if row.current_step else None
        if step is None:
            continue
        text = (f"Overdue: case {row.reference or row.id} ({definition.id}), step {step.sop_no or ''} "
                f"'{step.action_en[:120]}' was due {service.format_wib(service.ms(row.current_due_at))}")
        notified: set[int] = set()
        for position in step.positions:
            for user in holders.holders_of(session, position):
                if user.id in notified or not service.may_see(definition, user.role, holders.positions_of(session, user.username)):
                    continue
                notified.add(user.id)
                session.add(Notification(user_id=user.id, position=position, case_id=row.id, step_id=step.id,
                                         kind="overdue", message=text))
                made += 1
                contact = holders.contact_of(session, user.id)
                if contact is not None and contact.email:
                    session.add(GatewayMessage(direction="out", channel="email", address=contact.email, text=text,
                                               status="queued", case_id=row.id))
                if contact is not None and contact.phone:
                    session.add(GatewayMessage(direction="out", channel="whatsapp", address=contact.phone, text=text,
                                               status="queued", case_id=row.id))
        row.overdue_notified_at = now
        log.info("case %d: step %s overdue, %d officers notified", row.id, step.id, len(notified))
    return made


def dispatch(session: Session, sender: MessageSender, *, limit: int = 100) -> int:
    """Send queued outgoing messages; each keeps its delivery status and error. Returns how many left."""
    sent = 0
    for message in session.scalars(select(GatewayMessage).where(GatewayMessage.direction == "out",
                                                                GatewayMessage.status == "queued")
                                   .order_by(GatewayMessage.id).limit(limit)):
        result = sender.send(OutgoingMessage(message.channel, message.address, message.text))
        message.status, message.status_at = result.status, utcnow()
        message.provider_id, message.error = result.provider_id, result.error
        sent += int(result.status != "failed")
        if result.status == "failed":
            log.warning("outgoing message %d to %s failed: %s", message.id, message.channel, result.error)
    return sent


class OfficeWorker:
    """Runs the overdue sweep and the outgoing dispatch every ``interval_s`` until stopped."""

    def __init__(self, database: Database, sender: MessageSender, *, interval_s: float,
                 clock: Callable[[], float]) -> None:
        self.database, self.sender, self.interval_s, self.clock = database, sender, interval_s, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> tuple[int, int]:
        with self.database.session() as session:
            notices = sweep_overdue(session, int(self.clock() * 1000))
            session.commit()
            sent = dispatch(session, self.sender)
            session.commit()
        return notices, sent

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - a bad round is logged; the next one runs
                log.exception("office worker: sweep failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="office-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
