"""The embedded demo: synthetic quotes through every part of the pipeline built so far.

Producer -> Kinesis -> local driver + record processor -> S3 Parquet + DynamoDB (+ dead
letters) -> DynamoDB stream -> trend handler (in-process) -> SNS -> the local SQS queue.
A few malformed records are put straight into the stream, as a buggy producer would, to
show that they are dead-lettered with their reason and that nothing stops.
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
from common.alerts import Alert
from common.settings import Settings
from common.tick import Tick
from consumer.app import make_processor, make_sink
from consumer.batch import Batch
from consumer.local_driver import driver_for
from consumer.sinks import BatchSink
from producer.publisher import publisher_for
from producer.run import ProduceStats, produce
from producer.sources.synthetic import SyntheticSource
from stockpipe import alerts_feed, inventory, stream_reader
from stockpipe.trend_local import trend_event_source

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
    alerts: int
    latest_alerts: list[dict[str, object]]
    lag_ms_p50: float | None
    lag_ms_p95: float | None
    symbols: list[str]
    seconds: float

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    def complete(self) -> bool:
        """Every produced tick reached the stream and both stores."""
        return self.produced == self.in_stream == self.dynamodb_rows == self.s3_rows


@dataclass
class Progress:
    """Live counters for a progress display; updated from the driver thread."""

    produced: int = 0
    stored: int = 0
    dead_letters: int = 0
    alerts: int = 0
    lags_ms: list[int] = field(default_factory=list)

    def recent_lag_ms(self) -> float | None:
        """Median lag of the last 500 stored ticks: what a live display shows."""
        return percentile(self.lags_ms[-500:], 0.5)


class WatchingSink:
    """Passes batches to the real sink and counts this run's ticks once the hot path (DynamoDB)
    has them; history follows at the driver's stop, which flushes every shard. The local
    driver's shard threads call it at once: the counts are kept under a lock."""

    def __init__(
        self, inner: BatchSink, run_ids: set[str], progress: Progress, marker: bytes
    ) -> None:
        self._inner = inner
        self._run_ids = run_ids
        self._progress = progress
        self._marker = marker
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def write_hot(self, batch: Batch) -> Batch:
        kept = self._inner.write_hot(batch)
        now_ms = int(time.time() * 1000)
        with self._lock:
            for tick_id, arrival in kept.ticks.select("id", "arrival_ms").iter_rows():
                if tick_id in self._run_ids and tick_id not in self._seen:
                    self._seen.add(tick_id)
                    self._progress.lags_ms.append(now_ms - arrival)
            self._progress.stored = len(self._seen)
            self._progress.dead_letters += sum(self._marker in d.data for d in kept.dead_letters)
        return kept

    def write_cold(self, batch: Batch) -> None:
        self._inner.write_cold(batch)


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


class DemoRun:
    """One demo run: its consumer and trend stages run in threads while it produces."""

    def __init__(self, settings: Settings, on_progress: Callable[[Progress], None] | None):
        self.settings = settings
        self.on_progress = on_progress or (lambda _p: None)
        self.kinesis = aws.client("kinesis", region=settings.region)
        self.sqs = aws.client("sqs", region=settings.region)
        self.queue_url = self.sqs.get_queue_url(QueueName=settings.alerts_queue)["QueueUrl"]
        self.marker = uuid.uuid4().hex
        self.progress = Progress()
        self.run_ids: set[str] = set()
        self.alerts: list[Alert] = []
        self.seen = alerts_feed.SeenAlerts()  # a repeat after a trend crash has the same id
        sink = WatchingSink(make_sink(settings), self.run_ids, self.progress, self.marker.encode())
        self.driver = driver_for(settings, lambda: make_processor(settings, sink))
        self.trend = trend_event_source(settings)

    def remember(self, tick: Tick) -> None:
        self.run_ids.add(tick.id)
        self.progress.produced += 1
        if self.progress.produced % 100 == 0:
            self.on_progress(self.progress)

    def send_malformed(self) -> int:
        bad = malformed_records(self.marker)
        for data in bad:
            self.kinesis.put_record(
                StreamName=self.settings.stream_name, Data=data, PartitionKey="AAPL"
            )
        return len(bad)

    def produce(self, ticks: int, seed: int, step_ms: int) -> ProduceStats:
        """Synthetic ticks in simulated time that ends now (recent bars for the trend)."""
        settings = self.settings
        publisher = publisher_for(settings, self.kinesis)
        rounds = -(-ticks // len(settings.symbols))
        start_ms = int(time.time() * 1000) - rounds * step_ms
        source = SyntheticSource(
            settings.symbols, seed=seed, step_ms=step_ms, start_ms=start_ms - start_ms % 60_000
        )
        return produce(source, publisher, limit=ticks, on_tick=self.remember)

    def follow(self, expected_dead: int, threads: list[threading.Thread], timeout_s: float) -> None:
        """Until every tick is stored, every bad record dead-lettered, the trend caught up."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and all(t.is_alive() for t in threads):
            stored = self.progress.stored >= len(self.run_ids)
            dead = self.progress.dead_letters >= expected_dead
            if stored and dead and self.trend.idle_polls >= 3:
                return
            self.collect_alerts(wait=False)
            time.sleep(0.2)

    def collect_alerts(self, *, wait: bool) -> None:
        if wait:
            self.alerts += alerts_feed.drain(self.sqs, self.queue_url, seen=self.seen)
        else:
            self.alerts += alerts_feed.receive(self.sqs, self.queue_url, wait_s=0, seen=self.seen)
        self.progress.alerts = len(self.alerts)
        self.on_progress(self.progress)

    def report(
        self, stats: ProduceStats, start_positions: dict[str, str], seconds: float
    ) -> DemoReport:
        """Counts read back from the stream and the stores, for this run's ticks only."""
        settings, run_ids = self.settings, self.run_ids
        seen = set(_tick_ids(stream_reader.drain(self.kinesis, start_positions)))
        dynamo_ids = inventory.dynamodb_tick_ids(
            aws.client("dynamodb", region=settings.region), settings.ticks_table
        )
        s3 = aws.client("s3", region=settings.region)
        history = inventory.parquet_frame(s3, settings.bucket, ["id"])
        parquet_ids = history["id"].to_list() if history.height else []
        letters = [
            d
            for d in inventory.dead_letters(s3, settings.bucket)
            if self.marker in (d.get("data_text") or "")
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
            alerts=len(self.alerts),
            latest_alerts=[
                {"symbol": a.symbol, "signal": a.signal, "bar_time": a.bar_time, "price": a.price}
                for a in self.alerts[-5:]
            ],
            lag_ms_p50=percentile(self.progress.lags_ms, 0.50),
            lag_ms_p95=percentile(self.progress.lags_ms, 0.95),
            symbols=list(settings.symbols),
            seconds=round(seconds, 2),
        )


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
    """Produce `ticks` synthetic ticks and follow them through every stage into the stores."""
    started = time.perf_counter()
    run = DemoRun(settings, on_progress)
    alerts_feed.drain(run.sqs, run.queue_url)  # alerts of earlier runs are not this run's
    start_positions = stream_reader.iterators(run.kinesis, settings.stream_name, "LATEST")
    stop = threading.Event()
    threads = [
        threading.Thread(target=run.driver.run, args=(stop,), name="driver"),
        threading.Thread(target=run.trend.run, args=(stop,), name="trend"),
    ]
    for thread in threads:
        thread.start()
    try:
        expected_dead = run.send_malformed() if bad_records else 0
        stats = run.produce(ticks, seed, step_ms)
        run.follow(expected_dead, threads, timeout_s)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    run.collect_alerts(wait=True)
    return run.report(stats, start_positions, time.perf_counter() - started)
