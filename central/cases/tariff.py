"""The overstay tariff (tpi-07): the default from ``central.workflows.fees`` (it cites its
regulation), or a JSON file named by ``AUTOGATE_CASES_TARIFF_FILE``::

    {"idr_per_day": 1000000, "source": "PP 28/2019 ... (as amended by ...)"}

The file is read once, when the app starts; a bad file stops the start, naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from central.cases.errors import CaseError
from central.workflows.fees import OverstayTariff

TARIFF_ENV = "AUTOGATE_CASES_TARIFF_FILE"


def load_tariff(path: Path | str | None = None) -> OverstayTariff:
    """The tariff in *path*, else in the file ``$AUTOGATE_CASES_TARIFF_FILE``, else the default."""
    path = path or os.environ.get(TARIFF_ENV) or None
    if path is None:
        return OverstayTariff()
    try:
        return OverstayTariff.model_validate(
            json.loads(Path(path).read_text(encoding="utf-8"))
        )
    except (OSError, ValueError) as exc:
        raise CaseError(f"overstay tariff file {path}: {exc}") from exc
