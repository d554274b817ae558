"""Resharding under real KCL 3 workers while ticks flow, on the data stack's own tables (lease
table with its owner index, coordinator state, worker metrics) created from the deploy/
template in the emulator: 2 workers on 2 shards, `stockpipe scale --shards 4`, two workers
join, `stockpipe scale --shards 2`, two workers leave on SIGTERM. Every tick lands exactly
once, a child shard is processed only after its parents reached SHARD_END, the lease split is
asserted at each stage, and the trend path, fed by the ticks table's stream throughout, sends
exactly the alerts of a reference computed from the ticks sent, none twice.

The split rule asserted (docs/kcl.md, "How KCL 3 splits leases"): off EC2/ECS/EKS the workers
report no CPU, and KCL 3 balances the sum of shard throughput per worker: unassigned leases
go to the least loaded workers, and a held lease moves only if its receiver stays at or below
the fleet average. The symbols lie two in each quarter of the hash key space, so every shard
of every stage carries the same throughput. Hence: 2 workers on 2 shards 1/1; 2 joining
workers get nothing (1/1/0/0: a lease would put its receiver above the average); after the
split the idle workers get the children, then a balancing round evens it to within one
lease (1/1/1/1 or 2/1/1/0); after the merge and 2 SIGTERMs, 1/1."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from common import aws
from common.alerts import Alert
from common.settings import Settings
from common.tick import Tick
from stockpipe import alerts_feed
from stockpipe.deployment import settings_env
from stockpipe.trend_local import topic_arn, trend_event_source
from tests.deployed_stack import consumer_service, deploy_data_stack
from tests.factories import NOW_MS, a_tick
from tests.kcl.workers import (
    lease_owners,
    leases,
    owner_of,
    publish,
    start_worker,
    stop,
    stored_ids,
)
from tests.unit.lambdas.trend_reference import exact_sides
from tests.waiting import wait_for

# two symbols in each quarter of the MD5 hash key space (asserted below): equal throughput on
# the 2 shards, on the 4 after the split and on the 2 after the merge
SYMBOLS = ("AMZN", "NFLX", "NVDA", "AVGO", "AAPL", "MSFT", "GOOG", "META")
BAR_MS = LATENESS_MS = 60_000  # the trend defaults: 1-minute bars, 1 minute allowed lateness


class LeaseWatch(threading.Thread):
    """Scans the lease table twice a second and records every child lease that moved past
    TRIM_HORIZON while one of its parents' leases still existed short of SHARD_END."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.violations: list[str] = []
        self.children_seen: set[str] = set()
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            while not self._halt.wait(0.5):
                self.check(leases())
        except BaseException as e:  # re-raised by the test in finish()
            self.error = e

    def check(self, items: list[dict[str, Any]]) -> None:
        checkpoints = {i["leaseKey"]["S"]: i["checkpoint"]["S"] for i in items}
        for item in items:
            parents = item.get("parentShardId", {}).get("SS", [])
            if not parents:
                continue
            self.children_seen.add(item["leaseKey"]["S"])
            if checkpoints[item["leaseKey"]["S"]] in ("TRIM_HORIZON", "SHARD_END"):
                continue
            early = [p for p in parents if checkpoints.get(p, "SHARD_END") != "SHARD_END"]
            if early:
                self.violations.append(f"{item['leaseKey']['S']} read before {early} ended")

    def finish(self) -> None:
        self._halt.set()
        self.join()
        if self.error:
            raise self.error


def waves(rounds: int) -> list[Tick]:
    """Per round one tick per symbol, 30 s of event time apart (two a bar), each symbol on its
    own sine wave (a period of ~19 bars): its SMA-5 crosses its SMA-20 about every 10 bars."""
    start = NOW_MS - rounds * 30_000 - 60_000
    return [
        a_tick(
            symbol=symbol,
            event_time_ms=start + k * 30_000,
            price=round(100 + 5 * math.sin(k / 6 + j), 2),
            volume=k,
        )
        for k in range(rounds)
        for j, symbol in enumerate(SYMBOLS)
    ]


class Feeder(threading.Thread):
    """Steady load: batches of ticks every 0.2 s until stopped; remembers what it sent."""

    def __init__(self, batch: int = 8) -> None:
        super().__init__(daemon=True)
        self.sent: list[Tick] = []
        self.batch = batch
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        pending = waves(4_000)  # distinct ticks, enough for 10 minutes
        try:
            while not self._halt.wait(0.2):
                chunk, pending = pending[: self.batch], pending[self.batch :]
                publish(chunk)
                self.sent += chunk
        except BaseException as e:
            self.error = e

    def finish(self) -> list[Tick]:
        self._halt.set()
        self.join()
        if self.error:
            raise self.error
        return self.sent


class TrendPath(threading.Thread):
    """The trend handler on the ticks table's stream (as the Lambda's event source mapping
    runs it), for the whole test; its alerts reach an SQS queue subscribed to the topic."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.source = trend_event_source(settings)
        self.sqs = aws.client("sqs")
        self.queue_url = str(self.sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"])
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        alerts_feed.subscribe(
            aws.client("sns"),
            topic_arn(settings),
            "sqs",
            arn["Attributes"]["QueueArn"],
            symbols=[],
            signals=[],
        )
        self.halt = threading.Event()

    def run(self) -> None:
        self.source.run(self.halt)

    def alerts(self, want: int, timeout: float) -> list[Alert]:
        """Every alert it sent: once `want` arrived (or the timeout), after the stream went
        idle, so a late duplicate would be among them."""
        got: list[Alert] = []

        def settled() -> bool:
            got.extend(alerts_feed.drain(self.sqs, self.queue_url))
            return len(got) >= want and self.source.idle_polls >= 3

        try:
            wait_for(settled, timeout, f"{want} alerts")
        finally:
            self.halt.set()
            self.join()
        return got + alerts_feed.drain(self.sqs, self.queue_url)


def reference_alerts(sent: list[Tick]) -> list[tuple[str, str, int]]:
    """(symbol, signal, bar start) of every SMA-5/SMA-20 crossover on the closed 1-minute bars
    of each symbol's ticks, from scratch (exact fractions). Each symbol's ticks were sent in
    event-time order, so a bar is closed once the symbol's last event time minus the lateness
    reaches its end, and its close is its last tick's price."""
    want = []
    for symbol in SYMBOLS:
        mine = [t for t in sent if t.symbol == symbol]
        closes: dict[int, Decimal] = {}
        for tick in mine:
            closes[tick.event_time_ms // BAR_MS * BAR_MS] = Decimal(str(tick.price))
        watermark = mine[-1].event_time_ms - LATENESS_MS
        starts = [s for s in closes if s + BAR_MS <= watermark]
        _, crossings = exact_sides([closes[s] for s in starts])
        want += [(symbol, signal, starts[i]) for i, signal in crossings]
    return sorted(want)


def symbols_per_open_shard() -> list[int]:
    """How many of SYMBOLS each open shard's hash key range holds."""
    shards = aws.client("kinesis").list_shards(StreamName=Settings().stream_name)["Shards"]
    ranges = [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in shards
        if "EndingSequenceNumber" not in s["SequenceNumberRange"]
    ]
    keys = [int(hashlib.md5(s.encode()).hexdigest(), 16) for s in SYMBOLS]
    return sorted(sum(lo <= k <= hi for k in keys) for lo, hi in ranges)


def scale(shards: int, service: tuple[str, str]) -> None:
    """`stockpipe scale` as a user runs it; the stream and the service cap follow."""
    cluster, name = service
    where = ("--cluster", cluster, "--service", name)
    result = subprocess.run(
        [sys.executable, "-m", "stockpipe", "scale", "--shards", str(shards), *where],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    stream = Settings().stream_name
    summary = aws.client("kinesis").describe_stream_summary(StreamName=stream)
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == shards
    (target,) = aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{cluster}/{name}"]
    )["ScalableTargets"]
    assert target["MaxCapacity"] == shards
    assert symbols_per_open_shard() == [len(SYMBOLS) // shards] * shards


def timed(condition: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    wait_for(condition, timeout, what)
    return time.monotonic() - start


def reporting_workers(settings: Settings) -> int:
    table = settings.kcl_worker_metrics_table
    return int(aws.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"])


def split(workers: dict[str, subprocess.Popen[bytes]]) -> dict[str, int]:
    """Open (not SHARD_END) leases per worker name; '?' counts leases held by no live worker
    of the test or by nobody."""
    owners = lease_owners(open_only=True)
    live = {n: w for n, w in workers.items() if w.poll() is None}
    counts = Counter({n: 0 for n in live})
    for owner, held in owners.items():
        holder = [n for n, w in live.items() if owner_of(w, Counter({owner: held}))]
        counts[holder[0] if holder else "?"] += held
    return dict(counts)


def split_is(
    workers: dict[str, subprocess.Popen[bytes]], want: dict[str, int]
) -> Callable[[], bool]:
    return lambda: split(workers) == want


def balancing_runs(logs: Path, workers: int) -> int:
    """Lease balancing rounds the leader ran with `workers` workers reporting: the KCL logs
    `activeWorkerMetrics : N` in each assignment round and `Largest outlier` in the rounds
    that balance (every third)."""
    runs = 0
    for log in logs.glob("*.log"):
        active = 0
        for line in log.read_text().splitlines():
            if "activeWorkerMetrics : " in line:
                active = int(line.rsplit(":", 1)[1])
            elif "Largest outlier" in line and active == workers:
                runs += 1
    return runs


def throughputs() -> dict[str, str]:
    """Open lease -> the throughput (KB/s) its holder last wrote into the lease table."""
    return {
        i["leaseKey"]["S"]: i.get("throughputKBps", {}).get("N", "-")
        for i in leases()
        if i["checkpoint"]["S"] != "SHARD_END"
    }


def assert_stored_once(settings: Settings, ids: list[str]) -> None:
    try:
        wait_for(lambda: len(set(stored_ids(settings)[0])) >= len(ids), 120, "every tick")
    except AssertionError as e:
        missing = len(set(ids) - set(stored_ids(settings)[0]))
        raise AssertionError(f"{e}: {missing} of {len(ids)} missing; {leases()}") from e
    time.sleep(3)  # a straggling duplicate would show up now
    dynamo, parquet = stored_ids(settings)
    assert sorted(dynamo) == sorted(ids)
    assert sorted(parquet) == sorted(ids), "S3 history lost or duplicated ticks"


def assert_child_lines_once(logs: Path, names: list[str]) -> None:
    """No child line re-logged by the daemon's stderr reader, none tagged ERROR."""
    child: list[dict[str, Any]] = []
    for name in names:
        lines = (logs / f"{name}.log").read_text().splitlines()
        assert not [line for line in lines if "DrainChildSTDERRTask" in line]
        child += [json.loads(line) for line in lines if line.startswith('{"')]
        assert not [line for line in lines if "ERROR" in line and "consumer." in line]
    assert {c["logger"] for c in child} >= {"consumer.processor"}


def split_four_ways(
    workers: dict[str, subprocess.Popen[bytes]],
    service: tuple[str, str],
    figures: dict[str, float],
) -> None:
    """2 -> 4 under a, b (holding the parents) and c, d (idle): the split asserted."""
    scale(4, service)
    split_at = time.monotonic()
    figures["children leased"] = timed(
        lambda: sum(split(workers).values()) == 4 and split(workers).get("?", 0) == 0,
        150,
        "the 4 children leased",
    )
    first = split(workers)
    print(f"children leased: {first}")
    assert first["c"] >= 1 and first["d"] >= 1 and first["a"] <= 1 and first["b"] <= 1
    # AND the next balancing round moves a lease from each worker holding two whose
    # smaller lease is at or below the average: at least one (both cannot be above it),
    # so at most one worker stays idle and none holds more than two
    figures["4 over 4 within one lease"] = figures["children leased"] + timed(
        lambda: sorted(split(workers).values()) in ([1, 1, 1, 1], [0, 1, 1, 2]),
        150,
        "a balancing move to an older worker",
    )
    if sorted(split(workers).values()) != [1, 1, 1, 1]:  # another round may even it out
        with contextlib.suppress(AssertionError):
            wait_for(split_is(workers, {"a": 1, "b": 1, "c": 1, "d": 1}), 70, "1/1/1/1")
    if split(workers) == {"a": 1, "b": 1, "c": 1, "d": 1}:
        figures["4 over 4 even"] = time.monotonic() - split_at


@pytest.fixture
def stack(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The data stack (2 shards) from the app's template; settings as `stockpipe env` says."""
    for variable, value in settings_env(deploy_data_stack()).items():
        monkeypatch.setenv(variable, value)
    return Settings()


@pytest.mark.timeout(1200)  # ~10 min of stages, each waiting on KCL rounds
def test_split_and_merge_under_four_workers_keep_every_tick_once(
    stack: Settings, tmp_path: Path
) -> None:
    assert symbols_per_open_shard() == [4, 4]
    service = consumer_service(tasks=2, max_tasks=2)
    trend = TrendPath(stack)
    workers = {n: start_worker(n, tmp_path) for n in ("a", "b")}
    feeder, watch = Feeder(), LeaseWatch()
    figures: dict[str, float] = {}
    try:
        feeder.start()
        trend.start()
        # GIVEN two workers on two shards of equal throughput under steady load: 1/1
        timed(split_is(workers, {"a": 1, "b": 1}), 150, "a 1/1 split of 2 shards")
        watch.start()
        # WHEN two more workers join and report: a balancing round of the leader with the
        # four moves nothing (one lease to an idle worker would put it above the average)
        workers |= {n: start_worker(n, tmp_path) for n in ("c", "d")}
        wait_for(lambda: reporting_workers(stack) == 4, 90, "4 workers reporting metrics")
        wait_for(lambda: balancing_runs(tmp_path, 4) >= 1, 120, "a balancing round with 4")
        assert split(workers) == {"a": 1, "b": 1, "c": 0, "d": 0}
        print(f"4 workers, 2 shards: {split(workers)} {throughputs()}")
        # AND `stockpipe scale` splits the stream 2 -> 4 while ticks flow: the 4 children go
        # to the least loaded workers first, the two idle ones
        # AND `stockpipe scale` splits the stream 2 -> 4 while ticks flow: the children are
        # leased and then balanced to within one lease per worker
        split_four_ways(workers, service, figures)
        print(f"4 workers, 4 shards: {split(workers)} {throughputs()}")
        # AND it merges 4 -> 2, and two workers stop on SIGTERM: the two left hold one each
        scale(2, service)
        stopped = time.monotonic()
        for name in ("c", "d"):
            stop(workers[name], signal.SIGTERM)
        assert [workers[n].wait(timeout=60) for n in ("c", "d")] == [0, 0]
        figures["c, d exited after SIGTERM"] = time.monotonic() - stopped
        wait_for(split_is(workers, {"a": 1, "b": 1}), 240, "a 1/1 split of the 2 merged shards")
        figures["2 over 2 after SIGTERM"] = time.monotonic() - stopped
        print(f"2 workers, 2 merged shards: {split(workers)} {throughputs()}")
        sent = feeder.finish()
        rounded = {k: round(v) for k, v in figures.items()}
        print(f"{len(sent)} ticks; lease figures (s): {rounded}")
        # THEN every tick is stored exactly once, in DynamoDB and in S3, and no child shard
        # was read before its parents ended (4 split children, 2 merged)
        assert_stored_once(stack, [t.id for t in sent])
        watch.finish()
        assert len(watch.children_seen) == 6
        assert watch.violations == []
        # AND the trend path sent each reference alert once, and nothing else
        want = reference_alerts(sent)
        assert len(want) >= 2 * len(SYMBOLS), "too few bars for a meaningful comparison"
        got = trend.alerts(len(want), timeout=180)
        print(f"alerts: {len(got)} received, {len(want)} in the reference")
        assert len({a.id for a in got}) == len(got), "an alert was sent twice"
        assert sorted((a.symbol, a.signal, a.bar_start_ms) for a in got) == want
    finally:
        trend.halt.set()
        for worker in workers.values():
            if worker.poll() is None:
                stop(worker, signal.SIGKILL)
                worker.wait()
    # AND each child log line reached the worker's log once, as JSON at its own level
    assert_child_lines_once(tmp_path, list(workers))
