"""The alerts feed's de-duplication window: repeats dropped by id, memory bounded."""

from __future__ import annotations

from common.alerts import Alert
from stockpipe.alerts_feed import SeenAlerts


def an_alert(bar: int, signal: str = "BUY") -> Alert:
    return Alert("AAPL", signal, 5, 20, "t", 1_763_996_400_000 + bar * 60_000, 1.0)  # type: ignore[arg-type]


def test_a_repeat_is_dropped_and_a_different_alert_is_not() -> None:
    seen = SeenAlerts()
    assert seen.first_time(an_alert(1))
    assert not seen.first_time(an_alert(1))  # the same crossover published again
    assert seen.first_time(an_alert(1, "SELL")) and seen.first_time(an_alert(2))
    assert seen.repeats == 1


def test_the_window_forgets_the_oldest_ids_beyond_its_size() -> None:
    seen = SeenAlerts(size=3)
    for bar in range(4):
        assert seen.first_time(an_alert(bar))
    assert seen.first_time(an_alert(0))  # forgotten: bounded memory
    assert not seen.first_time(an_alert(3))
