"""The embedded demo: synthetic quotes through every part of the pipeline built so far.

Producer -> Kinesis -> local driver + record processor -> S3 Parquet + DynamoDB (+ dead
letters). A few malformed records are put straight into the stream, as a buggy producer
would, to show that they are dead-lettered with their reason and that nothing stops.
Counts in the summary are read back from the stores, for this run's ticks only.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

import orjson

from common import aws
from common.settings import Settings
from common.tick import Tick
from consumer.app import make_processor, make_sink
from consumer.batch import Batch
from consumer.local_driver import driver_for
from consumer.sinks import BatchSink
from producer.publisher import KinesisPublisher
from producer.run import produce
from producer.sources.synthetic import SyntheticSource
from stockpipe import inventory, stream_reader

log = logging.getLogger(__name__)


@dataclass
class DemoReport:
    """The demo's summary; `--json` prints exactly this object."""

    produced: int
    in_stream: int
    rejected: int
    retried: int
    failed: int
    dynamodb_rows: int
    s3_rows: int
    dead_letters: int
    lag_ms_p50: float | None
    lag_ms_p95: float | None
    symbols: list[str]
    seconds: float

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()


@dataclass
class Progress:
    """Live counters for a progress display; updated from the driver thread."""

    produced: int = 0
    stored: int = 0
    dead_letters: int = 0
    lags_ms: list[int] = field(default_factory=list)


class WatchingSink:
    """Passes batches to the real sink and counts this run's ticks once they are durable."""

    def __init__(
        self, inner: BatchSink, run_ids: set[str], progress: Progress, marker: bytes
    ) -> None:
        self._inner = inner
        self._run_ids = run_ids
        self._progress = progress
        self._marker = marker
        self._seen: set[str] = set()

    def write(self, batch: Batch) -> None:
        self._inner.write(batch)
        now_ms = int(time.time() * 1000)
        for tick_id, arrival in batch.ticks.select("id", "arrival_ms").iter_rows():
            if tick_id in self._run_ids and tick_id not in self._seen:
                self._seen.add(tick_id)
                self._progress.lags_ms.append(now_ms - arrival)
        self._progress.stored = len(self._seen)
        self._progress.dead_letters += sum(self._marker in d.data for d in batch.dead_letters)


def malformed_records(marker: str) -> list[bytes]:
    """What a buggy producer might send: each breaks a different rule."""
    return [
        f'{{"symbol":"AAPL","price":"n/a","run":"{marker}"'.encode(),  # not JSON
        f'{{"symbol":"AAPL","run":"{marker}"}}'.encode(),  # missing fields
        orjson.dumps(
            {
                "id": "bad-price",
                "symbol": "AAPL",
                "event_time_ms": 1,
                "price": -1.0,
                "volume": 5,
                "source": "synthetic",
                "run": marker,
            }
        ),
        orjson.dumps(
            {
                "id": "bad-symbol",
                "symbol": "not a symbol",
                "event_time_ms": 1,
                "price": 1.0,
                "volume": 5,
                "source": "synthetic",
                "run": marker,
            }
        ),
    ]


def _tick_ids(records: Iterable[bytes]) -> Iterator[str]:
    for data in records:
        try:
            yield orjson.loads(data)["id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue  # one of the malformed records


def percentile(values: list[int], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))])


def run_demo(
    settings: Settings,
    *,
    ticks: int,
    seed: int = 7,
    step_ms: int = 15_000,
    bad_records: bool = True,
    timeout_s: float = 300.0,
    on_progress: Callable[[Progress], None] | None = None,
) -> DemoReport:
    """Produce `ticks` synthetic ticks in simulated time and follow them into the stores."""
    started = time.perf_counter()
    kinesis = aws.client("kinesis", region=settings.region)
    start_positions = stream_reader.iterators(kinesis, settings.stream_name, "LATEST")
    marker = uuid.uuid4().hex
    progress = Progress()
    run_ids: set[str] = set()
    sink = WatchingSink(make_sink(settings), run_ids, progress, marker.encode())
    driver = driver_for(settings, lambda: make_processor(settings, sink))
    stop_driver = threading.Event()
    driver_thread = threading.Thread(target=driver.run, args=(stop_driver,), name="driver")
    driver_thread.start()
    try:
        bad = malformed_records(marker) if bad_records else []
        for data in bad:
            kinesis.put_record(StreamName=settings.stream_name, Data=data, PartitionKey="AAPL")

        def remember(tick: Tick) -> None:
            run_ids.add(tick.id)
            progress.produced += 1
            if on_progress is not None and progress.produced % 100 == 0:
                on_progress(progress)

        publisher = KinesisPublisher(
            kinesis,
            settings.stream_name,
            buffer_records=settings.producer_buffer_records,
            linger_s=settings.producer_linger_ms / 1000,
            max_attempts=settings.producer_max_attempts,
        ).start()
        source = SyntheticSource(settings.symbols, seed=seed, step_ms=step_ms)
        stats = produce(source, publisher, limit=ticks, on_tick=remember)
        deadline = time.monotonic() + timeout_s
        while (progress.stored < len(run_ids) or progress.dead_letters < len(bad)) and (
            time.monotonic() < deadline and driver_thread.is_alive()
        ):
            if on_progress is not None:
                on_progress(progress)
            time.sleep(0.2)
    finally:
        stop_driver.set()
        driver_thread.join()
    if on_progress is not None:
        on_progress(progress)
    seen = set(_tick_ids(stream_reader.drain(kinesis, start_positions)))
    dynamo_ids = inventory.dynamodb_tick_ids(
        aws.client("dynamodb", region=settings.region), settings.ticks_table
    )
    s3 = aws.client("s3", region=settings.region)
    history = inventory.parquet_frame(s3, settings.bucket, ["id"])
    parquet_ids = history["id"].to_list() if history.height else []
    letters = [
        d
        for d in inventory.dead_letters(s3, settings.bucket)
        if marker in (d.get("data_text") or "")
    ]
    return DemoReport(
        produced=stats.produced,
        in_stream=len(run_ids & seen),
        rejected=stats.rejected,
        retried=stats.retried,
        failed=stats.failed,
        dynamodb_rows=sum(i in run_ids for i in dynamo_ids),
        s3_rows=sum(i in run_ids for i in parquet_ids),
        dead_letters=len(letters),
        lag_ms_p50=percentile(progress.lags_ms, 0.50),
        lag_ms_p95=percentile(progress.lags_ms, 0.95),
        symbols=list(settings.symbols),
        seconds=round(time.perf_counter() - started, 2),
    )
