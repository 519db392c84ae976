"""Times as people at Soekarno-Hatta read them: WIB (UTC+7, no daylight saving).

Everything central stores is UTC (``central.models``) and the API says so with an offset; every
time a person reads on a page or a printed document goes through :func:`format_wib`, so no page
shows UTC or the browser's zone by accident. Pure, apart from the Jinja registration.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from flask import Flask

WIB = timezone(timedelta(hours=7), "WIB")


def as_datetime(value: datetime | str | int | float | None) -> datetime | None:
    """An aware datetime from a stored datetime (naive means UTC), an ISO string, or epoch ms."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise TypeError(f"not a time: {type(value).__name__}")


def to_wib(value: datetime | str | int | float | None) -> datetime | None:
    moment = as_datetime(value)
    return moment.astimezone(WIB) if moment is not None else None


def format_wib(value: datetime | str | int | float | None, *, seconds: bool = True) -> str:
    """``2026-12-07 22:20:05 WIB`` ("" for no time)."""
    moment = to_wib(value)
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M:%S WIB" if seconds else "%Y-%m-%d %H:%M WIB")


def format_wib_date(value: datetime | str | int | float | date | None) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    moment = to_wib(value)
    return moment.strftime("%Y-%m-%d") if moment is not None else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters["wib"] = format_wib
    app.jinja_env.filters["wib_minutes"] = lambda value: format_wib(value, seconds=False)
    app.jinja_env.filters["wib_date"] = format_wib_date
