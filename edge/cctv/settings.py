"""Settings of one camera node (``autogate cctv run``): typed, from a file and the environment.

Precedence, highest first: command-line options, ``AUTOGATE_CCTV_*`` environment variables
(nested with ``__``, e.g. ``AUTOGATE_CCTV_MQTT__HOST``), the ``--config`` file (TOML or JSON),
defaults. Like a gate, a camera node refuses to start without its signing key and central's
public key unless ``demo_mode`` is set: its alarms must be believable, and it must know that
the face list it runs came from central.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    JsonConfigSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from edge.settings import MqttSettings
from protocol.keys import PublicKey
from protocol.messages import GateId

ENV_PREFIX = "AUTOGATE_CCTV_"


class CameraSettings(BaseSettings):
    """Everything one camera node needs."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid",
                                      validate_default=True)

    camera_id: GateId = Field(..., description="this camera's id: MQTT client id, sender, topics")
    source: str = Field(..., min_length=1, max_length=500,
                        description="stream URL (rtsp/http), device index, video file or folder of frames")
    source_fps: float | None = Field(None, gt=0, le=120, description="frame rate of a folder of frames (default 15)")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="broker connection")
    key_file: Path | None = Field(None, description="the camera's Ed25519 private seed (autogate keys ...), mode 0600")
    central_public_key: str | None = Field(None, max_length=100, description="central's public key, base64")
    data_dir: Path = Field(Path("var/cctv"), description="outbox database and face list copy live here")
    heartbeat_interval_s: float = Field(10.0, ge=0.05, le=3600, description="online heartbeat period")
    outbox_retention_h: float = Field(168.0, ge=0, le=24 * 365, description="delivered alarms stay in the outbox this long")
    target_fpir: float = Field(0.01, gt=0, lt=1, description="false positive identification rate the threshold is set for")
    threshold: float | None = Field(None, ge=-1, le=1, description="a fixed threshold instead of one set from the FPIR")
    face_embedder: Annotated[str, Field(pattern=r"^face-[a-z0-9-]+$", max_length=64)] = Field(
        "face-mobilefacenet", description="face model (manifest name); must be the one central enrols with"
    )
    detector_input_px: int = Field(640, ge=160, le=1920, description="long side the face detector runs at")
    min_face_px: float = Field(20.0, ge=8, le=400, description="narrower faces are ignored")
    min_votes: int = Field(2, ge=1, le=10, description="faces whose scores are averaged into a track's decision")
    max_faces_per_track: int = Field(5, ge=1, le=20, description="best-quality faces kept and searched per track")
    alarm_cooldown_s: float = Field(120.0, ge=0, le=3600, description="one alarm per person and entry within this time")
    models_dir: Path | None = Field(None, description="models folder (default: the repository's models/)")
    demo_mode: bool = Field(False, description="allow running without keys (a key is generated in data_dir)")

    @field_validator("central_public_key")
    @classmethod
    def _key_decodes(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                PublicKey.from_b64(value.strip())
            except ValueError as exc:
                raise ValueError(f"central_public_key is not a base64 Ed25519 public key: {exc}") from exc
            return value.strip()
        return value

    @model_validator(mode="after")
    def _keys_unless_demo(self) -> CameraSettings:
        if not self.demo_mode:
            missing = [n for n in ("key_file", "central_public_key") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"{' and '.join(missing)} required (or set demo_mode for a demo camera)")
        if self.min_votes > self.max_faces_per_track:
            raise ValueError("min_votes must not exceed max_faces_per_track")
        return self

    # The names ``edge.link.assembly`` reads, so a camera's keys and outbox are built like a gate's.
    @property
    def gate_id(self) -> str:
        return self.camera_id

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / f"{self.camera_id}.outbox.sqlite"

    @property
    def facelist_path(self) -> Path:
        return self.data_dir / f"{self.camera_id}.facelist.json"

    @property
    def demo_key_path(self) -> Path:
        return self.data_dir / f"{self.camera_id}.demo.key"

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings, file_secret_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        if settings_cls.model_config.get("json_file"):
            sources.append(JsonConfigSettingsSource(settings_cls))
        return tuple(sources)


def load_camera_settings(config_file: Path | None = None, **overrides: Any) -> CameraSettings:
    """From *config_file* (``.toml`` or ``.json``), the environment and *overrides* (CLI options)."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if config_file is None:
        return CameraSettings(**overrides)
    config_file = Path(config_file)
    if not config_file.is_file():
        raise FileNotFoundError(f"config file {config_file} does not exist")
    suffix = config_file.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ValueError(f"config file {config_file}: use .toml or .json")
    extra = SettingsConfigDict(toml_file=config_file) if suffix == ".toml" else SettingsConfigDict(json_file=config_file)
    from_file = type("CameraSettingsFromFile", (CameraSettings,), {"model_config": {**CameraSettings.model_config, **extra}})
    return from_file(**overrides)
