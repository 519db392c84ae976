"""Loading ONNX models from ``models/`` by manifest, with their checksum verified.

Every model the product runs is described by a ``*.manifest.json`` file beside it in ``models/``:

    {"name": "mrz-ocrb", "version": "1", "file": "mrz_ocrb.onnx", "sha256": "...",
     "source": "...", "license": "...", "inputs": {...}, "accuracy": {...}}

Nothing is ever downloaded at run time: a file that is missing or whose digest differs is an
error that names the model, so a gate refuses to start with a tampered or half-copied model.
Models converted from a registry package at install time (``make models``) are written next to
their manifest by the conversion script, which checks the same digest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ModelError(Exception):
    """Base of model-store errors."""


class ModelNotFound(ModelError, FileNotFoundError):
    """The manifest or the model file is not in the model directory."""


class ModelChecksumMismatch(ModelError, ValueError):
    """The model file's SHA-256 differs from its manifest."""


def default_models_dir() -> Path:
    """``AUTOGATE_MODELS_DIR`` if set, else ``models/`` at the repository root."""
    env = os.environ.get("AUTOGATE_MODELS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelManifest:
    """What we know about one model file: provenance, licence, input spec and measured accuracy."""

    name: str
    version: str
    file: str
    sha256: str
    source: str
    license: str
    directory: Path
    inputs: dict[str, Any] = field(default_factory=dict)
    accuracy: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.directory / self.file


def find_manifest(name: str, models_dir: Path | None = None) -> ModelManifest:
    """Find the manifest whose ``name`` is *name* anywhere under *models_dir*."""
    root = models_dir or default_models_dir()
    for candidate in sorted(root.rglob("*.manifest.json")):
        data = json.loads(candidate.read_text(encoding="utf-8"))
        if data.get("name") == name:
            known = {"name", "version", "file", "sha256", "source", "license", "inputs", "accuracy"}
            return ModelManifest(
                name=data["name"],
                version=str(data.get("version", "")),
                file=data["file"],
                sha256=data["sha256"].lower(),
                source=data.get("source", ""),
                license=data.get("license", ""),
                directory=candidate.parent,
                inputs=data.get("inputs", {}),
                accuracy=data.get("accuracy", {}),
                extra={k: v for k, v in data.items() if k not in known},
            )
    raise ModelNotFound(f"model {name!r}: no manifest under {root}")


def verified_path(manifest: ModelManifest) -> Path:
    """Return the model file's path once its digest matches the manifest."""
    path = manifest.path
    if not path.is_file():
        raise ModelNotFound(
            f"model {manifest.name!r}: {path} is missing (run `make models` to install it)"
        )
    actual = sha256_file(path)
    if actual != manifest.sha256:
        raise ModelChecksumMismatch(
            f"model {manifest.name!r}: {path} has sha256 {actual}, manifest says {manifest.sha256}"
        )
    return path


@lru_cache(maxsize=None)
def _session(path: str, digest: str, intra_op_threads: int) -> Any:
    import onnxruntime as ort  # imported late: the protocol and central need not load it

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    log.info("loading model %s (sha256 %s)", path, digest[:12])
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def onnx_session(name: str, *, models_dir: Path | None = None, intra_op_threads: int = 1) -> Any:
    """An onnxruntime session for the named model, checksum verified, cached per process.

    One intra-op thread by default: a gate runs several engines side by side on a small CPU, and
    one thread per session gives the steadiest latency.
    """
    manifest = find_manifest(name, models_dir)
    path = verified_path(manifest)
    return _session(str(path), manifest.sha256, intra_op_threads)
