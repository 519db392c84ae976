"""Typed configuration of the central process (env prefix ``AUTOGATE_CENTRAL_``, nested ``__``).

Build it once in ``main()`` (or pass it to ``create_app``) and hand it down; never import a
module-level instance. Outside demo mode it refuses to start without a session secret and
central's signing key, so no deployment runs on a default secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from central.cases.settings import OfficeSettings
from pydantic_settings import BaseSettings, SettingsConfigDict

from central.errors import ConfigurationError

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

Port = Annotated[int, Field(ge=1, le=65535)]


class MqttSettings(BaseModel):
    """How the ingest worker and the command publisher reach the broker."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="broker host name or address")
    port: Port = Field(1883, description="broker TCP port")
    username: str | None = Field(None, description="broker user for central")
    password: SecretStr | None = Field(None, description="broker password for central")
    # Fixed id + clean_session=False: the broker keeps our subscriptions and queues QoS 1
    # messages while ingest is down, so a restart loses nothing.
    client_id: str = Field(
        "autogate-central-ingest", min_length=1, max_length=64, description="persistent MQTT client id"
    )
    tls: bool = Field(False, description="connect with TLS")
    ca_file: Path | None = Field(None, description="CA bundle for TLS (system CAs when unset)")
    cert_file: Path | None = Field(None, description="central's client certificate for mutual TLS, PEM")
    key_file: Path | None = Field(None, description="private key of cert_file, PEM")
    keepalive_s: int = Field(30, ge=5, le=600, description="MQTT keepalive")


def apply_login(client: mqtt.Client, settings: MqttSettings) -> None:
    """Set central's broker account and TLS on a paho client (every client central opens)."""
    if settings.username:
        password = settings.password.get_secret_value() if settings.password else None
        client.username_pw_set(settings.username, password)
    apply_tls(client, settings)


def apply_tls(client: mqtt.Client, settings: MqttSettings) -> None:
    """Set TLS on a paho client from *settings* (ingest, command publisher and watchlist CLI alike)."""
    if not settings.tls:
        return
    import ssl

    client.tls_set(
        ca_certs=str(settings.ca_file) if settings.ca_file else None,
        certfile=str(settings.cert_file) if settings.cert_file else None,
        keyfile=str(settings.key_file) if settings.key_file else None,
        tls_version=ssl.PROTOCOL_TLS_CLIENT,
    )


class HttpSettings(BaseModel):
    """Where waitress listens."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="listen address (loopback by default)")
    port: Port = Field(8000, description="listen port")
    # Each open console stream holds a waitress thread while it waits for the next notice, so
    # streams get at most max_streams of them and pages keep the rest (central/streams.py).
    threads: int = Field(16, ge=2, le=256, description="waitress worker threads")
    # waitress stops accepting past its connection limit (its default: 100), and every open
    # stream and idle keep-alive browser connection counts: a console hall needs more.
    connection_limit: int = Field(1000, ge=10, le=100_000, description="waitress: open connections at most")
    max_streams: int | None = Field(
        None, ge=0, le=100_000,
        description="open console streams per process (waitress default: half the threads; gunicorn gevent: 1000); "
                    "past it a console gets 503 + Retry-After and polls",
    )


class BusSettings(BaseModel):
    """How ingest's change notices reach the consoles of other processes (central/buses.py)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["auto", "local", "postgres", "mqtt"] = Field(
        "auto", description="auto: postgres when the database is PostgreSQL, else local (one process only)"
    )
    channel: str = Field(
        "autogate_notices", pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL NOTIFY channel (database-wide: one per deployment sharing a database)",
    )
    topic: str = Field(
        "autogate/v1/central/notices", min_length=1, max_length=200, pattern=r"^[^#+\x00]+$",
        description="MQTT topic for kind=mqtt (grant it to central's broker user only)",
    )
    ready_timeout_s: float = Field(5.0, gt=0, le=60, description="how long a new stream waits for the listener")


class CctvSettings(BaseModel):
    """CCTV face recognition at central (SOP it-05): the face watchlist, alarms and their retention."""

    model_config = ConfigDict(extra="forbid")

    face_embedder: str = Field(
        "face-mobilefacenet", pattern=r"^face-[a-z0-9-]+$", max_length=64,
        description="embedder (manifest name) that enrols watchlist photos; cameras must run the same",
    )
    keep_enrolment_photos: bool = Field(
        False, description="keep the uploaded watchlist photos after enrolment (default: templates only)"
    )
    keep_reference_faces: bool = Field(
        True, description="keep a face crop of each enrolled photo for the operator to compare alarms with"
    )
    unconfirmed_retention_h: float = Field(
        24.0, gt=0, le=24 * 30, description="hours the pictures and template of an unconfirmed alarm are kept"
    )
    dismissal_suppression_h: float = Field(
        6.0, ge=0, le=24 * 7,
        description="hours a dismissal ('not this person') silences the same person and entry on that camera",
    )
    same_person_threshold: float | None = Field(
        None, ge=-1, le=1, description="cosine above which two alarms show one person (default: the embedder's 1:1 threshold at FMR 0.1 %)"
    )
    flag_hours: float = Field(24.0, gt=0, le=24 * 14, description="how long a person flagged to every gate stays flagged")
    purge_interval_s: float = Field(300.0, ge=10, le=86_400, description="how often retention and publication are checked")


class CentralSettings(BaseSettings):
    """Everything the central process needs; see docs/central.md for each variable."""

    model_config = SettingsConfigDict(
        env_prefix="AUTOGATE_CENTRAL_", env_nested_delimiter="__", extra="forbid"
    )

    database_url: str = Field(
        "sqlite:///instance/central.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:pw@host/db",
    )
    secret_key: SecretStr | None = Field(None, description="Flask session signing secret (>= 32 chars)")
    demo_mode: bool = Field(False, description="allow generated secrets and keys (never in production)")
    central_key_file: Path | None = Field(None, description="central's Ed25519 private key (signs commands)")
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    cctv: CctvSettings = Field(default_factory=CctvSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    # The gate outbox delivers late by design (network down for hours), so the window is long.
    event_max_age_s: int = Field(
        14 * 24 * 3600, ge=60, le=90 * 24 * 3600, description="oldest gate message still accepted"
    )
    ingest_enabled: bool = Field(True, description="run the MQTT ingest worker inside `serve`")
    ingest_retry_initial_s: float = Field(0.5, gt=0, le=60, description="first back-off after a DB error")
    ingest_retry_max_s: float = Field(30.0, gt=0, le=600, description="longest back-off after DB errors")
    ingest_stuck_after_s: float = Field(
        60.0, gt=0, le=3600, description="one batch in hand longer than this makes /healthz report ingest stuck"
    )
    ingest_batch_max: int = Field(200, ge=1, le=5000, description="most messages ingest stores in one transaction")
    # Several ingest workers (each with its own mqtt client_id) split the gates' messages between
    # them through an MQTT shared subscription ($share/<group>/...); unset: one worker takes all.
    ingest_share_group: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="MQTT shared-subscription group of the ingest workers"
    )
    command_ttl_s: int = Field(30, ge=5, le=600, description="how long a gate may still execute a command")
    # Production is served over HTTPS (TLS ends at a reverse proxy, docs/central.md): cookies are
    # Secure and HSTS is sent unless this is set false explicitly; demo mode runs on plain http.
    session_cookie_secure: bool | None = Field(
        None, description="send the session cookie over HTTPS only (default: true unless demo_mode)"
    )
    hsts_max_age_s: int = Field(
        365 * 24 * 3600, ge=0, le=2 * 365 * 24 * 3600,
        description="Strict-Transport-Security max-age while cookies are Secure (0: no header)",
    )
    office: OfficeSettings = Field(default_factory=OfficeSettings, description="back-office workflows (central/cases)")
    login_max_failures: int = Field(5, ge=1, le=100, description="failed logins before a user is locked")
    login_lockout_s: int = Field(300, ge=1, le=86400, description="how long a locked user must wait")
    login_ip_max_failures: int = Field(
        20, ge=1, le=10000, description="failed logins from one address per lockout window"
    )
    # Behind a reverse proxy every request comes from the proxy: without these, lockout by address
    # would lock everyone out together. Forwarded headers from any other peer are ignored.
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed",
    )
    proxy_hops: int = Field(1, ge=1, le=5, description="how many trusted proxies stand in front of central")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"trusted_proxies: {entry!r} is not an address or network") from exc
        return value

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies are Secure (and HSTS sent): the explicit setting, else not in demo mode."""
        return (not self.demo_mode) if self.session_cookie_secure is None else self.session_cookie_secure

    def missing_secrets(self, *, session_secret: bool = True, signing_key: bool = True) -> list[str]:
        """What a non-demo process lacks of the secrets it will use: the web session secret
        (``serve``), central's signing key file (anything that signs: commands, publishing)."""
        if self.demo_mode:
            return []
        problems = []
        if session_secret and (self.secret_key is None or len(self.secret_key.get_secret_value()) < 32):
            problems.append("AUTOGATE_CENTRAL_SECRET_KEY must be set (at least 32 characters) unless demo_mode")
        if signing_key and self.central_key_file is None:
            problems.append("AUTOGATE_CENTRAL_CENTRAL_KEY_FILE must be set unless demo_mode")
        return problems

    @model_validator(mode="after")
    def _no_default_secrets(self) -> CentralSettings:
        if self.bus.kind == "postgres" and not self.database_url.startswith("postgresql"):
            raise ConfigurationError("bus kind postgres needs a PostgreSQL database_url")
        problems = self.missing_secrets()
        if problems:
            raise ConfigurationError(problems[0])
        return self


class CentralToolSettings(CentralSettings):
    """Central's settings for a command-line tool that may not need every secret (``autogate
    watchlist import`` touches only the database). Built only by :func:`load_settings`, which
    then checks the secrets that the command says it uses."""

    @model_validator(mode="after")
    def _no_default_secrets(self) -> CentralToolSettings:
        return self


def load_settings(prog: str, *, session_secret: bool = True, signing_key: bool = True) -> CentralSettings | None:
    """Settings for a command-line entry point; on refusal, say why on stderr and return None.

    A command asks only for the secrets it uses: ``session_secret`` (serving the web UI) and
    ``signing_key`` (signing anything for gates). Only the error messages are printed, never the
    input: it may hold a database password.
    """
    import sys

    from pydantic import ValidationError

    try:
        settings = CentralSettings() if session_secret and signing_key else CentralToolSettings()
    except ValidationError as exc:
        problems = "\n".join(f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        print(f"{prog}: configuration refused:\n{problems}", file=sys.stderr)
        return None
    missing = settings.missing_secrets(session_secret=session_secret, signing_key=signing_key)
    if missing:
        print(f"{prog}: configuration refused:\n" + "\n".join(f"  settings: {m}" for m in missing), file=sys.stderr)
        return None
    return settings
