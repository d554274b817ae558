"""The embedded demo: synthetic quotes through every part of the pipeline built so far."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

import orjson

from common import aws
from common.settings import Settings
from common.tick import Tick
from producer.publisher import KinesisPublisher
from producer.run import ProduceStats, produce
from producer.sources.synthetic import SyntheticSource
from stockpipe import stream_reader

log = logging.getLogger(__name__)


@dataclass
class DemoReport:
    """The demo's summary; `--json` prints exactly this object."""

    produced: int
    in_stream: int
    rejected: int
    retried: int
    failed: int
    symbols: list[str]
    produce_seconds: float

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()


def run_demo(
    settings: Settings,
    *,
    ticks: int,
    seed: int = 7,
    step_ms: int = 15_000,
    on_tick: Callable[[Tick], None] | None = None,
) -> DemoReport:
    """Produce `ticks` synthetic ticks in simulated time and check they all reached the stream."""
    kinesis = aws.client("kinesis", region=settings.region)
    start_positions = stream_reader.iterators(kinesis, settings.stream_name, "LATEST")
    source = SyntheticSource(settings.symbols, seed=seed, step_ms=step_ms)
    publisher = KinesisPublisher(
        kinesis,
        settings.stream_name,
        buffer_records=settings.producer_buffer_records,
        linger_s=settings.producer_linger_ms / 1000,
        max_attempts=settings.producer_max_attempts,
    ).start()
    produced_ids: set[str] = set()

    def remember(tick: Tick) -> None:
        produced_ids.add(tick.id)
        if on_tick is not None:
            on_tick(tick)

    stats: ProduceStats = produce(source, publisher, limit=ticks, on_tick=remember)
    seen = {orjson.loads(data)["id"] for data in stream_reader.drain(kinesis, start_positions)}
    return DemoReport(
        produced=stats.produced,
        in_stream=len(produced_ids & seen),
        rejected=stats.rejected,
        retried=stats.retried,
        failed=stats.failed,
        symbols=list(settings.symbols),
        produce_seconds=round(stats.seconds, 3),
    )
