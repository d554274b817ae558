"""US equity regular trading hours (NYSE/Nasdaq): 09:30-16:00 America/New_York, Mon-Fri.

Exchange holidays are not modelled: on a holiday the live source simply receives nothing.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
OPEN = time(9, 30)
CLOSE = time(16, 0)


def is_open(moment: datetime) -> bool:
    """True during regular trading hours; `moment` must be timezone-aware."""
    local = moment.astimezone(NEW_YORK)
    return local.weekday() < 5 and OPEN <= local.time() < CLOSE


def next_open(moment: datetime) -> datetime:
    """The next regular-session open at or after `moment` (aware, New York time)."""
    local = moment.astimezone(NEW_YORK)
    day = local.date()
    while True:
        candidate = datetime.combine(day, OPEN, NEW_YORK)
        if candidate.weekday() < 5 and candidate >= local:
            return candidate
        day += timedelta(days=1)
