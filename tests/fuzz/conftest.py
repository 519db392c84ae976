"""The route fuzzer signs in the way central's own tests do (tests/central/central_support.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "central"))
