"""A sanity check on real prints (FVC2002), when the shared evaluation data is present."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from edge.fingerprint import mcc
from edge.fingerprint.extract import extract

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fingerprints"

pytestmark = pytest.mark.skipif(not (DATA / "fvc2002_db1_101").is_dir(),
                                reason=f"FVC2002 evaluation data not found under {DATA}")


def _template(finger: str, impression: int):
    img = cv2.imread(str(DATA / f"fvc2002_{finger[:3]}_{finger[4:]}" / f"{finger[4:]}_{impression}.tif"),
                     cv2.IMREAD_GRAYSCALE)
    return extract(img)


@pytest.mark.parametrize("db", ["db1", "db3"])
def test_real_prints_same_finger_outscores_other_fingers(db):
    a1, a2 = _template(f"{db}_101", 1), _template(f"{db}_101", 2)
    b1 = _template(f"{db}_102", 1)
    assert len(a1) >= 12 and len(b1) >= 12
    assert mcc.match(a1, a2) > 2 * max(mcc.match(a1, b1), mcc.match(a2, b1))
