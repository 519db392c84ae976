"""Overstay days and fees (tpi-07), pure: dates and a tariff table in, amounts out.

The SOP gives no rate (autogate.md open point 10). The default table cites the regulation the
office applies; an office overrides it by configuration when the tariff changes, and every
computed fee carries the tariff's source so a billing record says which rule it followed.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

MAX_DAYS_UNDER_TPI_07 = 60  # beyond this, tpi-07 does not apply


class OverstayTariff(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    idr_per_day: int = Field(1_000_000, ge=0)
    source: str = (
        "Peraturan Pemerintah No. 28 Tahun 2019 tentang Jenis dan Tarif atas Jenis PNBP yang "
        "berlaku pada Kementerian Hukum dan HAM (biaya beban overstay per orang per hari); "
        "verify against the regulation in force before deployment"
    )


class OverstayAssessment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    permit_expiry: date
    departure: date
    overstay_days: int
    fee_idr: int
    within_tpi_07: bool  # False: more than 60 days, refer for enforcement
    tariff_source: str


def assess_overstay(permit_expiry: date, departure: date, tariff: OverstayTariff | None = None) -> OverstayAssessment:
    """Days past the last valid day of the stay permit, and the fee for them.

    The permit's expiry date is its last valid day, so leaving on that day is no overstay and
    leaving the day after is one day.
    """
    tariff = tariff or OverstayTariff()
    days = max(0, (departure - permit_expiry).days)
    return OverstayAssessment(
        permit_expiry=permit_expiry,
        departure=departure,
        overstay_days=days,
        fee_idr=days * tariff.idr_per_day,
        within_tpi_07=days <= MAX_DAYS_UNDER_TPI_07,
        tariff_source=tariff.source,
    )
