"""The minutiae template: what extraction produces, matching consumes and ISO records carry.

Coordinates are pixels in the image (x right, y down). Angles are radians in [0, 2*pi), measured
from +x towards +y (clockwise on screen); a ridge ending points along its ridge into the ridge, a
bifurcation points into the valley between its two branches, so a ending/bifurcation swap caused by
finger pressure keeps the angle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ENDING = 0  # ujung guratan
BIFURCATION = 1  # percabangan guratan


@dataclass(frozen=True, eq=False)
class Template:
    """Minutiae of one finger impression.

    ``xy`` (N, 2) float32 pixels, ``angle`` (N,) float32 radians, ``kind`` (N,) int8 ENDING or
    BIFURCATION, ``quality`` (N,) uint8 0..100; ``width``/``height`` of the source image in pixels,
    ``resolution_ppi`` its resolution and ``image_quality`` the capture's 0..100 score.
    """

    xy: np.ndarray
    angle: np.ndarray
    kind: np.ndarray
    quality: np.ndarray
    width: int
    height: int
    resolution_ppi: int = 500
    image_quality: int = 0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.xy)
        if self.xy.shape != (n, 2) or not (len(self.angle) == len(self.kind) == len(self.quality) == n):
            raise ValueError(f"template arrays disagree in length ({n} minutiae)")

    @classmethod
    def from_arrays(
        cls,
        xy: np.ndarray,
        angle: np.ndarray,
        kind: np.ndarray | None = None,
        quality: np.ndarray | None = None,
        *,
        width: int,
        height: int,
        resolution_ppi: int = 500,
        image_quality: int = 0,
    ) -> Template:
        xy = np.asarray(xy, dtype=np.float32).reshape(-1, 2)
        n = len(xy)
        return cls(
            xy=xy,
            angle=np.mod(np.asarray(angle, dtype=np.float32).reshape(n), 2 * np.pi).astype(np.float32),
            kind=np.zeros(n, np.int8) if kind is None else np.asarray(kind, dtype=np.int8).reshape(n),
            quality=np.full(n, 60, np.uint8) if quality is None else np.asarray(quality, dtype=np.uint8).reshape(n),
            width=int(width),
            height=int(height),
            resolution_ppi=int(resolution_ppi),
            image_quality=int(image_quality),
        )

    def __len__(self) -> int:
        return len(self.xy)

    def strongest(self, limit: int) -> Template:
        """The *limit* minutiae of highest quality (all of them if there are fewer)."""
        if len(self) <= limit:
            return self
        keep = np.sort(np.argsort(-self.quality.astype(np.int32), kind="stable")[:limit])
        return Template.from_arrays(
            self.xy[keep], self.angle[keep], self.kind[keep], self.quality[keep],
            width=self.width, height=self.height, resolution_ppi=self.resolution_ppi,
            image_quality=self.image_quality,
        )
