"""Named face pipelines: which detector setting, embedder(s), fusion weights and flip test-time
augmentation the engine runs, and the threshold fitted for them.

A pipeline is chosen and calibrated by ``bench/face/verification.py`` under the evaluation
protocol (docs/evaluation.md) and written to ``models/face/pipelines.json`` with its held-out
figures. The engine loads one by name (``FaceEngine.from_models(embedder_model="face-gate")``);
a plain embedder model name still works and runs that one model alone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PIPELINES_FILE = "pipelines.json"


class PipelineEmbedder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(pattern=r"^face-[a-z0-9-]+$", max_length=64, description="embedder manifest name")
    weight: float = Field(gt=0, le=1, description="share of this embedder's cosine in the fused score")


class FacePipeline(BaseModel):
    """One shipped configuration of the face engine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^face-[a-z0-9-]+$", max_length=64)
    detector_input_px: int = Field(ge=96, le=1280, multiple_of=32)
    face_selection: Literal["largest", "central"]
    embedders: tuple[PipelineEmbedder, ...] = Field(min_length=1, max_length=4)
    flip: bool = Field(description="flip test-time augmentation: embed the crop and its mirror image")
    operating_points: dict[str, float] = Field(description="target FMR (as a string) -> threshold")
    held_out: dict[str, Any] = Field(default_factory=dict, description="the protocol's held-out figures")
    measured_by: str = ""

    def version(self, model_versions: dict[str, str]) -> str:
        """A short digest of what makes embeddings comparable: models, their versions, weights, flip.

        Two pipelines with the same version produce interchangeable templates; the detector
        setting is left out on purpose (it moves landmarks, not the embedding space).
        """
        spec = [[e.model, model_versions.get(e.model, ""), round(e.weight, 4)] for e in self.embedders]
        digest = hashlib.sha256(json.dumps([spec, self.flip]).encode()).hexdigest()
        return f"p-{digest[:12]}"


def load_pipelines(models_dir: Path) -> dict[str, FacePipeline]:
    """Every pipeline in ``models_dir/face/pipelines.json`` (or ``models_dir/pipelines.json``)."""
    for path in (models_dir / "face" / PIPELINES_FILE, models_dir / PIPELINES_FILE):
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return {name: FacePipeline.model_validate(spec) for name, spec in data.items()}
    return {}
