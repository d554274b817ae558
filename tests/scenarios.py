"""A replay scenario with known SMA-5/SMA-20 crossovers, the alerts it must produce, and a
runner for the local pipeline parts (consumer driver, trend event source) until it is done."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tests.unit.lambdas.trend_reference import reference_crossovers

AAPL = (
    [100 - i * 0.5 for i in range(25)]
    + [88 + i * 1.0 for i in range(25)]
    + [112 - i * 1.5 for i in range(25)]
)
MSFT = (
    [200 + i * 0.8 for i in range(30)]
    + [224 - i * 1.2 for i in range(30)]
    + [188 + i * 0.4 for i in range(20)]
)


def write_scenario(path: Path, start_ms: int) -> None:
    """Three ticks per 1-minute bar; the last one of each bar is the bar's close."""
    lines = ["symbol,event_time_ms,price,volume"]
    for symbol, closes in (("AAPL", AAPL), ("MSFT", MSFT)):
        for i, close in enumerate(closes):
            bar = start_ms + i * 60_000
            lines += [
                f"{symbol},{bar + 5_000},{close * 0.999:.4f},100",
                f"{symbol},{bar + 30_000},{close * 1.001:.4f},100",
                f"{symbol},{bar + 55_000},{close:.4f},100",
            ]
    path.write_text("\n".join(lines) + "\n")


def expected(start_ms: int) -> list[tuple[str, str, int]]:
    result = []
    for symbol, closes in (("AAPL", AAPL), ("MSFT", MSFT)):
        # the last bar stays open: no later tick pushes the watermark past its end
        result += [
            (symbol, signal, start_ms + i * 60_000)
            for i, signal in reference_crossovers(closes)
            if i < len(closes) - 1
        ]
    return sorted(result)


class Runnable(Protocol):
    def run(self, stop: threading.Event) -> None: ...


def run_until(targets: list[Runnable], done: Callable[[], bool], timeout: float) -> None:
    stop = threading.Event()
    threads = [threading.Thread(target=t.run, args=(stop,)) for t in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not done() and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
