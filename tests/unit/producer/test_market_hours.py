from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producer.sources.market_hours import NEW_YORK, is_open, next_open


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2025, 11, 21, 14, 29, tzinfo=UTC), False),  # Fri 09:29 EST
        (datetime(2025, 11, 21, 14, 30, tzinfo=UTC), True),  # Fri 09:30 EST
        (datetime(2025, 11, 21, 20, 59, tzinfo=UTC), True),  # Fri 15:59 EST
        (datetime(2025, 11, 21, 21, 0, tzinfo=UTC), False),  # Fri 16:00 EST
        (datetime(2025, 7, 1, 13, 30, tzinfo=UTC), True),  # Tue 09:30 EDT (summer time)
        (datetime(2025, 11, 22, 15, 0, tzinfo=UTC), False),  # Saturday
    ],
)
def test_regular_session(utc: datetime, expected: bool) -> None:
    assert is_open(utc) is expected


def test_next_open_after_friday_close_is_monday_0930() -> None:
    opens = next_open(datetime(2025, 11, 21, 21, 30, tzinfo=UTC))
    assert opens == datetime(2025, 11, 24, 9, 30, tzinfo=NEW_YORK)
