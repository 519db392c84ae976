"""The office's working-day calendar (hari kerja), pure: when a standard in days falls due.

The SOPs give standards in seconds, minutes, hours, days ("hari") and working days ("hari kerja",
int-01's pickup). Working days skip the weekend and the public holidays the office configures
(``central.cases.calendar_store`` keeps them). The digest (backoffice.md §0.3) reads a plain
"hari" as a calendar day until the office says otherwise; ``days_are_working_days`` is that
setting. Days are counted in the office's time zone (WIB, UTC+7): a standard of one working day
started on Friday at 10:00 WIB falls due on Monday at 10:00 WIB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7), "WIB")
DAY_S = 86_400


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    weekend: frozenset[int] = frozenset({5, 6})  # Saturday, Sunday (date.weekday())
    tz: timezone = WIB
    days_are_working_days: bool = False

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start_ms: int, days: int) -> int:
        """*days* working days after *start_ms*, at the same time of day in the office's zone."""
        local = datetime.fromtimestamp(start_ms / 1000, tz=UTC).astimezone(self.tz)
        day = local.date()
        remaining = days
        guard = 0
        while remaining > 0:
            day += timedelta(days=1)
            guard += 1
            if guard > 3660:
                raise ValueError("no working day within ten years: check the holiday list")
            if self.is_working_day(day):
                remaining -= 1
        due = datetime.combine(day, local.timetz())
        return int(due.timestamp() * 1000)

    def due_ms(self, start_ms: int, *, seconds: int = 0, days: int = 0, working_days: int = 0) -> int:
        """When a standard of *seconds*, calendar *days* or *working_days* started at *start_ms* ends."""
        if days and self.days_are_working_days:
            working_days, days = working_days + days, 0
        due = start_ms + (seconds + days * DAY_S) * 1000
        if working_days:
            due = self.add_working_days(due, working_days)
        return due

    def working_days_between(self, start_ms: int, end_ms: int) -> int:
        """Working days after *start_ms*'s day up to and including *end_ms*'s day (reports)."""
        start = datetime.fromtimestamp(start_ms / 1000, tz=UTC).astimezone(self.tz).date()
        end = datetime.fromtimestamp(end_ms / 1000, tz=UTC).astimezone(self.tz).date()
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


def local_day(ms: int, tz: timezone = WIB) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz).date()
