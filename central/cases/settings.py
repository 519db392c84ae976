"""The back office's settings: the calendar, the overdue sweep, the applicant gateway, outgoing messages.

Nested in ``CentralSettings.office``, so from the environment they read
``AUTOGATE_CENTRAL_OFFICE__DAYS_ARE_WORKING_DAYS=true`` and so on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class OfficeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days_are_working_days: bool = Field(
        False, description="count a plain 'hari' standard as working days (the digest reads calendar days)")
    overdue_sweep_s: int = Field(60, ge=5, le=3600, description="how often `serve` looks for overdue steps")
    due_soon_s: int = Field(1800, ge=60, le=86400, description="a step due within this many seconds is 'due soon'")
    gateway_secret: SecretStr | None = Field(
        None, description="shared secret the SMS/WhatsApp provider signs webhook calls with (HMAC-SHA256); "
        "unset: the webhook answers 503")
    outgoing: Literal["log", "smtp", "webhook"] = Field(
        "log", description="where outgoing messages go: the log only, e-mail (SMTP) or an HTTP gateway (WhatsApp/SMS)")
    smtp_host: str = Field("127.0.0.1", description="SMTP server for outgoing e-mail")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port")
    smtp_sender: str = Field("autogate@localhost", description="From: address of outgoing e-mail")
    webhook_url: str | None = Field(None, description="HTTP endpoint of the WhatsApp/SMS provider for outgoing messages")
    webhook_token: SecretStr | None = Field(None, description="bearer token for the provider endpoint")
    send_timeout_s: float = Field(5.0, gt=0, le=60, description="longest wait for the SMTP server or provider")
