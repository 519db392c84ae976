"""Settings of one gate process (``autogate edge run``): typed, from a file and the environment.

Precedence, highest first: init arguments, ``AUTOGATE_EDGE_*`` environment variables (nested
with ``__``, e.g. ``AUTOGATE_EDGE_MQTT__HOST``), the ``--config`` file (TOML or JSON), defaults.
``main()`` builds these once and passes them down; nothing imports them at module level.

A gate refuses to start without its signing key and central's public key unless ``demo_mode``
is set: an unsigned gate would be indistinguishable from an impostor, and a gate without
central's key could not tell a supervisor's command from anyone's.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    JsonConfigSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from edge.hardware.gpio.config import DEFAULT_PIN_MAP, GpioPinMap
from edge.imageload import ImageSettings
from edge.mrz.checks import DocumentPolicy
from protocol.keys import PublicKey
from protocol.messages import Direction, GateId

ENV_PREFIX = "AUTOGATE_EDGE_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TlsSettings(_Section):
    """TLS to the broker; off for the embedded demo broker, on in production."""

    enabled: bool = Field(False, description="connect with TLS")
    ca_file: Path | None = Field(None, description="CA bundle that signed the broker's certificate")
    cert_file: Path | None = Field(None, description="client certificate (mutual TLS), PEM")
    key_file: Path | None = Field(None, description="client certificate's private key, PEM")
    insecure: bool = Field(False, description="skip hostname verification (lab brokers only)")


class MqttSettings(_Section):
    """How the gate reaches the broker. The client id is always the gate id."""

    host: str = Field("127.0.0.1", min_length=1, max_length=253, description="broker host name or address")
    port: int = Field(1883, ge=1, le=65535, description="broker TCP port")
    username: str | None = Field(None, max_length=128, description="per-gate broker user (the broker ACL keys on it)")
    password: SecretStr | None = Field(None, description="per-gate broker password")
    tls: TlsSettings = Field(default_factory=TlsSettings, description="TLS options")
    keepalive_s: int = Field(30, ge=5, le=600, description="MQTT keepalive; the last will fires ~1.5x after silence")
    reconnect_min_s: int = Field(1, ge=1, le=60, description="first reconnect delay")
    reconnect_max_s: int = Field(30, ge=1, le=600, description="longest reconnect delay (exponential backoff)")
    inflight_window: int = Field(20, ge=1, le=1000, description="outbox rows published and awaiting PUBACK at once")

    @model_validator(mode="after")
    def _delays_ordered(self) -> MqttSettings:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self


class SimulatedHardwareSettings(_Section):
    """The in-process simulated gate (edge/hardware/simulated.py): no hardware at all."""

    kind: Literal["simulated"] = "simulated"
    door_move_s: float = Field(1.0, gt=0, le=10, description="simulated door travel time (SOP: 1 s)")
    door_move_timeout_s: float = Field(3.0, gt=0, le=30, description="when a stuck door becomes a fault")
    zone_beams: int = Field(3, ge=1, le=10, description="beams across the mantrap floor")


class GpioHardwareSettings(_Section):
    """Doors, beams and lights wired to the edge computer's GPIO pins (edge/hardware/gpio)."""

    kind: Literal["gpio"] = "gpio"
    pin_factory: str | None = Field(
        None, max_length=32, description="gpiozero pin factory name (e.g. 'lgpio'); gpiozero's default when unset"
    )
    pins: GpioPinMap = Field(default_factory=lambda: DEFAULT_PIN_MAP, description="the gate's pin map")


class DoorBoardHardwareSettings(_Section):
    """The firmware/ door board on a serial port."""

    kind: Literal["doorboard"] = "doorboard"
    port: str = Field("/dev/ttyUSB0", min_length=1, max_length=256, description="serial device of the door board")
    baudrate: int = Field(115200, ge=1200, le=4_000_000, description="serial speed")
    timeout_s: float = Field(0.25, gt=0, le=10, description="wait for one ACK/NAK before retransmitting")
    zone_beams: int = Field(3, ge=1, le=10, description="beams across the mantrap floor (the board's wiring)")


HardwareSettings = Annotated[
    SimulatedHardwareSettings | GpioHardwareSettings | DoorBoardHardwareSettings,
    Field(discriminator="kind"),
]


class TravelerSimulationSettings(_Section):
    """Simulated travelers walking up to the gate, for the demo (simulators/travelers.py)."""

    rate_per_min: float = Field(0.0, ge=0, le=120, description="travelers per minute; 0 turns simulation off")
    seed: int = Field(0, ge=0, description="random seed, so a demo run can be replayed")
    supervisor_at_gate: bool = Field(
        True, description="a simulated supervisor answers at the gate; off when central's console answers"
    )
    render_documents: bool = Field(
        False, description="lay rendered data pages on the reader, read by the MRZ reader (needs fonts-ocr-b)"
    )
    faces_dir: Path | None = Field(
        None, description="the camera shows the travellers' faces from this folder (simulators/faces.py)"
    )
    scripted: bool = Field(
        False, description="the demo's stream: more failures, and an impostor and a retried face early on"
    )


Verifier = Literal["engines", "simulated"]


class BiometricSettings(_Section):
    """1:1 fingerprint and face, each on the real engine against central's enrolments
    ("engines"), or decided from the traveler simulator's flags ("simulated", demos and tests)."""

    fingerprint: Verifier | None = Field(
        None, description="default: simulated when simulate_travelers is on, else engines"
    )
    face: Verifier | None = Field(None, description="default: simulated when simulate_travelers is on, else engines")
    central_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$", max_length=300)] | None = Field(
        None, description="central's base URL, where the gate fetches enrolled templates (signed)"
    )
    fetch_budget_ms: int = Field(300, ge=50, le=5000, description="longest wait for an enrolment answer")
    cache_size: int = Field(256, ge=0, le=10_000, description="enrolments kept in memory (never on disk)")
    cache_ttl_s: float = Field(900.0, ge=0, le=86_400, description="how long a cached enrolment is used")
    require_liveness: bool = Field(True, description="refuse a face burst that fails presentation-attack detection")
    face_detector_input_px: int | None = Field(
        None, ge=160, le=1280, description="long side the face detector runs at (default: the face pipeline's)"
    )
    face_embedder: Annotated[str, Field(pattern=r"^face-[a-z0-9-]+$", max_length=64)] = Field(
        "face-gate", description="face pipeline (models/face/pipelines.json) or single embedder model "
        "(manifest name); must be the one central's enrolments used"
    )


class StationSettings(_Section):
    """The traveler's devices (unset: none). The passport reader and the fingerprint sensor are
    on serial ports; the camera is an OpenCV source (device index or stream URL)."""

    passport_reader_port: str | None = Field(None, max_length=200, description="serial port of the passport reader")
    passport_reader_baudrate: int = Field(115200, ge=1200, le=4_000_000, description="its baud rate")
    fingerprint_sensor_port: str | None = Field(None, max_length=200, description="serial port of the R30x/AS608 sensor")
    fingerprint_sensor_baudrate: int = Field(57600, ge=9600, le=115200, description="its baud rate")
    camera: str | None = Field(None, max_length=300, description="face camera: device index (\"0\") or stream URL")
    face_burst_frames: int = Field(8, ge=3, le=30, description="frames in one face burst (PAD needs several)")
    face_burst_s: float = Field(1.5, gt=0, le=10, description="how long one face burst lasts")

    @property
    def any(self) -> bool:
        return any((self.passport_reader_port, self.fingerprint_sensor_port, self.camera))


class DocumentSettings(_Section):
    """Which documents the gate accepts (SOP tpi-08: an Indonesian passport that is valid)."""

    min_validity_days_departure: int = Field(
        0, ge=0, le=3660,
        description="days of validity a passport must have left to depart; tpi-08 asks only that it be valid "
        "(0). Some destinations want 183: raise it where the office decides to")
    min_validity_days_arrival: int = Field(
        0, ge=0, le=3660, description="days of validity a passport must have left to arrive; a citizen may always "
        "come home on a valid passport (0)")

    def policy(self, direction: str) -> DocumentPolicy:
        days = self.min_validity_days_arrival if direction == "arrival" else self.min_validity_days_departure
        return DocumentPolicy(min_validity_days=days)


class EdgeSettings(BaseSettings):
    """Everything one gate process needs; see the module docstring for precedence."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    gate_id: GateId = Field(..., description="this gate's id: MQTT client id, sender, topics")
    direction: Direction = Field(Direction.DEPARTURE, description="departure (keberangkatan) or arrival (kedatangan)")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="broker connection")
    key_file: Path | None = Field(None, description="the gate's Ed25519 private seed (autogate keys ...), mode 0600")
    central_public_key: str | None = Field(
        None, max_length=100, description="central's Ed25519 public key, base64; verifies commands"
    )
    data_dir: Path = Field(Path("var/edge"), description="outbox database and watchlist cache live here")
    hardware: HardwareSettings = Field(default_factory=SimulatedHardwareSettings, description="gate hardware")
    heartbeat_interval_s: float = Field(10.0, ge=0.05, le=3600, description="online heartbeat period")
    command_max_age_s: float = Field(
        60.0, gt=0, le=3600, description="commands older than this are refused as stale, besides their own expiry"
    )
    outbox_retention_h: float = Field(168.0, ge=0, le=24 * 365, description="delivered outbox rows are kept this long")
    simulate_travelers: TravelerSimulationSettings = Field(
        default_factory=TravelerSimulationSettings, description="demo traveler generator"
    )
    biometrics: BiometricSettings = Field(default_factory=BiometricSettings, description="1:1 verification")
    images: ImageSettings = Field(
        default_factory=ImageSettings, description="largest image per sensor kind, refused before decoding"
    )
    documents: DocumentSettings = Field(default_factory=DocumentSettings, description="document acceptance (tpi-08)")
    stations: StationSettings = Field(default_factory=StationSettings, description="the traveler's devices")
    demo_mode: bool = Field(
        False, description="allow running without keys: a key is generated in data_dir, commands need central's key"
    )

    @field_validator("central_public_key")
    @classmethod
    def _key_decodes(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                PublicKey.from_b64(value.strip())
            except ValueError as exc:  # binascii.Error is a ValueError
                raise ValueError(f"central_public_key is not a base64 Ed25519 public key: {exc}") from exc
            return value.strip()
        return value

    @model_validator(mode="after")
    def _keys_unless_demo(self) -> EdgeSettings:
        if not self.demo_mode:
            missing = [name for name in ("key_file", "central_public_key") if getattr(self, name) is None]
            if missing:
                raise ValueError(f"{' and '.join(missing)} required (or set demo_mode for a demo gate)")
        return self

    @model_validator(mode="after")
    def _travelers_need_simulated_hardware(self) -> EdgeSettings:
        if self.simulate_travelers.rate_per_min > 0 and self.hardware.kind != "simulated":
            raise ValueError("simulate_travelers needs hardware.kind = 'simulated'")
        if self.simulate_travelers.rate_per_min > 0 and self.stations.any:
            raise ValueError("simulate_travelers plays the traveler: leave stations unset")
        return self

    @model_validator(mode="after")
    def _biometrics_resolved(self) -> EdgeSettings:
        bio = self.biometrics
        simulate = self.simulate_travelers.rate_per_min > 0
        for name in ("fingerprint", "face"):
            if getattr(bio, name) is None:
                setattr(bio, name, "simulated" if simulate else "engines")
            if getattr(bio, name) == "simulated" and not self.demo_mode and not simulate:
                raise ValueError(f"biometrics.{name} = 'simulated' is for demos and tests (set demo_mode)")
        engines = "engines" in (bio.fingerprint, bio.face)
        if engines and bio.central_url is None and not self.demo_mode:
            raise ValueError("biometrics.central_url required: the gate fetches enrolled templates from central")
        return self

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / f"{self.gate_id}.outbox.sqlite"

    @property
    def watchlist_path(self) -> Path:
        return self.data_dir / f"{self.gate_id}.watchlist.json"

    @property
    def demo_key_path(self) -> Path:
        return self.data_dir / f"{self.gate_id}.demo.key"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings, file_secret_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        if settings_cls.model_config.get("json_file"):
            sources.append(JsonConfigSettingsSource(settings_cls))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> EdgeSettings:
    """Build settings from *config_file* (``.toml`` or ``.json``), the environment and *overrides*."""
    if config_file is None:
        return EdgeSettings(**overrides)
    config_file = Path(config_file)
    if not config_file.is_file():
        raise FileNotFoundError(f"config file {config_file} does not exist")
    suffix = config_file.suffix.lower()
    if suffix == ".toml":
        extra = SettingsConfigDict(toml_file=config_file)
    elif suffix == ".json":
        extra = SettingsConfigDict(json_file=config_file)
    else:
        raise ValueError(f"config file {config_file}: use .toml or .json")
    # A subclass carries the file path in its config, so the file source sits below the
    # environment in the precedence chain (settings_customise_sources above).
    from_file = type("EdgeSettingsFromFile", (EdgeSettings,), {"model_config": {**EdgeSettings.model_config, **extra}})
    return from_file(**overrides)


def settings_reference() -> str:
    """The settings as a Markdown table (docs/edge.md embeds it; a test keeps the two equal)."""
    rows = ["| setting | environment variable | default | description |", "|---|---|---|---|"]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            dotted = f"{prefix}{name}"
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel) and name != "pins":
                walk(annotation, f"{dotted}.")
                continue
            if field.is_required():
                default = "required"
            elif field.default_factory is not None:
                made = field.default_factory()  # type: ignore[call-arg]
                default = f'`kind = "{made.kind}"`' if hasattr(made, "kind") else "see below"
            elif isinstance(field.default, Path):
                default = f"`{field.default.as_posix()}`"
            elif isinstance(field.default, Enum):
                default = f"`{field.default.value}`"
            else:
                default = f"`{field.default!r}`" if field.default is not None else "unset"
            env = ENV_PREFIX + dotted.upper().replace(".", "__")
            rows.append(f"| `{dotted}` | `{env}` | {default} | {field.description or ''} |")

    walk(EdgeSettings, "")
    return "\n".join(rows)
