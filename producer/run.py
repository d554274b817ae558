"""The producer loop: read a source, validate each quote, publish the valid ones.

Invalid quotes, and ticks the publisher cannot encode, are counted by rule and logged with
their reason; they are never sent, and the loop goes on.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from common.tick import InvalidTick, Tick, make_tick
from producer.publisher import KinesisPublisher
from producer.sources.base import QuoteSource

log = logging.getLogger(__name__)

LOGGED_REJECTIONS = 20  # after this many, rejections are only counted


@dataclass
class ProduceStats:
    """What one run did; `rejected_by_rule` maps validation rules to counts."""

    produced: int = 0
    rejected_by_rule: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    retried: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_rule.values())


def produce(
    source: QuoteSource,
    publisher: KinesisPublisher,
    *,
    stop: threading.Event | None = None,
    limit: int | None = None,
    on_tick: Callable[[Tick], None] | None = None,
) -> ProduceStats:
    """Run until the source ends, `limit` ticks are produced, or `stop` is set; then flush."""
    stop = stop or threading.Event()
    stats = ProduceStats()
    started = time.perf_counter()
    try:
        for quote in source.quotes(stop):
            try:
                tick = make_tick(*quote, source=source.name)
                publisher.send(tick)
            except InvalidTick as e:
                stats.rejected_by_rule[e.rule] += 1
                if stats.rejected <= LOGGED_REJECTIONS:
                    log.warning("rejected quote %s: %s", quote, e.reason)
                continue
            stats.produced += 1
            if on_tick is not None:
                on_tick(tick)
            if (limit is not None and stats.produced >= limit) or stop.is_set():
                break
    finally:
        counters = publisher.close()
        stats.sent, stats.retried, stats.failed = counters.sent, counters.retried, counters.failed
        stats.seconds = time.perf_counter() - started
    return stats


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (ECS stop) and SIGINT (Ctrl-C) end the loop; the publisher then flushes."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; flushing and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
