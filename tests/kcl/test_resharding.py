"""Resharding under real KCL 3 workers while ticks flow, on the data stack's own tables (lease
table with its owner index, coordinator state, worker metrics) created from the deploy/
template in the emulator: 2 workers on 2 shards, `stockpipe scale --shards 4`, two workers
join, `stockpipe scale --shards 2`, two workers leave on SIGTERM. Every tick lands exactly
once, a child shard is processed only after its parents reached SHARD_END, and who holds the
leases is asserted at each stage. Rebalance times are printed (docs/performance.md)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from common import aws
from common.settings import Settings
from stockpipe.deployment import settings_env
from tests.deployed_stack import consumer_service, deploy_data_stack
from tests.factories import ticks
from tests.kcl.workers import (
    lease_owners,
    leases,
    owner_of,
    publish,
    start_worker,
    stop,
    stored_ids,
)
from tests.waiting import wait_for

SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "JPM")


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


class Feeder(threading.Thread):
    """Steady load: batches of ticks every 0.2 s until stopped; remembers what it sent."""

    def __init__(self, batch: int = 8) -> None:
        super().__init__(daemon=True)
        self.sent: list[str] = []
        self.batch = batch
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        pending = ticks(30_000, symbols=SYMBOLS)  # distinct ticks, enough for 10 minutes
        try:
            while not self._halt.wait(0.2):
                chunk, pending = pending[: self.batch], pending[self.batch :]
                publish(chunk)
                self.sent += [t.id for t in chunk]
        except BaseException as e:
            self.error = e

    def finish(self) -> list[str]:
        self._halt.set()
        self.join()
        if self.error:
            raise self.error
        return self.sent


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


def timed(condition: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    wait_for(condition, timeout, what)
    return time.monotonic() - start


def reporting_workers(settings: Settings) -> int:
    table = settings.kcl_worker_metrics_table
    return int(aws.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"])


def leased_by(*owners: Any, each: int | None = None) -> Callable[[], bool]:
    """Every open shard's lease is held by one of these workers, and none by anyone else;
    with `each`, every one of them holds exactly that many."""

    def held() -> bool:
        counts = lease_owners(open_only=True)
        ids = [owner_of(w, counts) for w in owners]
        if each is not None:
            return None not in ids and counts == {i: each for i in ids}
        return bool(counts) and set(counts) <= set(ids)

    return held


def open_leases(n: int) -> Callable[[], bool]:
    return lambda: sum(lease_owners(open_only=True).values()) == n and "" not in lease_owners()


@pytest.fixture
def stack(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The data stack (2 shards) from the app's template; settings as `stockpipe env` says."""
    for variable, value in settings_env(deploy_data_stack()).items():
        monkeypatch.setenv(variable, value)
    return Settings()


def test_split_and_merge_under_four_workers_keep_every_tick_once(
    stack: Settings, tmp_path: Path
) -> None:
    service = consumer_service(tasks=2, max_tasks=2)
    workers = {n: start_worker(n, tmp_path) for n in ("a", "b")}
    feeder, watch = Feeder(), LeaseWatch()
    try:
        feeder.start()
        # GIVEN two workers on two shards under steady load: one lease each
        timed(leased_by(workers["a"], workers["b"], each=1), 150, "a 1/1 lease split")
        watch.start()
        # WHEN two more workers join (KCL 3 moves no held lease to them: it rebalances by worker
        # CPU, which it reads only on EC2/ECS/EKS; docs/kcl.md) and, once they have reported,
        # `stockpipe scale` splits the stream 2 -> 4 while ticks flow: the new child leases
        # go to live workers
        workers |= {n: start_worker(n, tmp_path) for n in ("c", "d")}
        wait_for(lambda: reporting_workers(stack) == 4, 90, "4 workers reporting metrics")
        assert leased_by(workers["a"], workers["b"], each=1)()
        scale(4, service)
        joined = timed(open_leases(4), 150, "the 4 children leased")
        assert leased_by(*workers.values())()
        print(f"children leased: {dict(lease_owners(open_only=True))}")
        # AND it merges 4 -> 2, and two workers stop on SIGTERM
        scale(2, service)
        for name in ("c", "d"):
            stop(workers[name], signal.SIGTERM)
        assert [workers[n].wait(timeout=60) for n in ("c", "d")] == [0, 0]
        left = timed(
            lambda: open_leases(2)() and leased_by(workers["a"], workers["b"])(),
            150,
            "the 2 merged shards leased by the workers left",
        )
        print(f"merged leased: {dict(lease_owners(open_only=True))}")
        sent = feeder.finish()
        print(f"children leased after {joined:.0f} s; merged moved after SIGTERM {left:.0f} s")
        # THEN every tick is stored exactly once, in DynamoDB and in S3
        try:
            wait_for(lambda: len(set(stored_ids(stack)[0])) >= len(sent), 120, "every tick")
        except AssertionError as e:
            missing = len(set(sent) - set(stored_ids(stack)[0]))
            raise AssertionError(f"{e}: {missing} of {len(sent)} missing; {leases()}") from e
        time.sleep(3)  # a straggling duplicate would show up now
        dynamo, parquet = stored_ids(stack)
        assert sorted(dynamo) == sorted(sent)
        assert sorted(parquet) == sorted(sent), "S3 history lost or duplicated ticks"
        # AND no child shard was read before its parents ended (4 split children, 2 merged)
        watch.finish()
        assert len(watch.children_seen) == 6
        assert watch.violations == []
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                stop(worker, signal.SIGKILL)
                worker.wait()
    # AND each child log line reached the worker's log once, as JSON at its own level (a
    # worker that joined late may hold no lease at all: KCL 3 balances by CPU, docs/kcl.md)
    child: list[dict[str, Any]] = []
    for name in workers:
        lines = (tmp_path / f"{name}.log").read_text().splitlines()
        assert not [line for line in lines if "DrainChildSTDERRTask" in line]
        child += [json.loads(line) for line in lines if line.startswith('{"')]
        assert not [line for line in lines if "ERROR" in line and "consumer." in line]
    assert any(c["logger"] == "consumer.processor" for c in child)
