"""The local driver reads its shards concurrently, one thread per shard (no network: fakes)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from consumer.local_driver import LocalDriver

ARRIVAL = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


class FakeCheckpointTable:
    """The DynamoDB calls of CheckpointStore, in memory."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def create_table(self, **_kwargs: Any) -> None:
        pass

    def get_waiter(self, _name: str) -> Any:
        return self

    def wait(self, **_kwargs: Any) -> None:
        pass

    def get_item(self, *, Key: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:  # noqa: N803
        item = self.items.get(Key["shard_id"]["S"])
        return {"Item": item} if item else {}

    def put_item(self, *, Item: dict[str, Any], **_kwargs: Any) -> None:  # noqa: N803
        self.items[Item["shard_id"]["S"]] = Item


class FakeKinesis:
    """Two open shards with one record each; `gate` lets a test hold one shard's first read."""

    def __init__(self, gate: Any = None) -> None:
        self.gate = gate or (lambda _shard: None)
        self.served: dict[str, int] = {}

    def list_shards(self, **_kwargs: Any) -> dict[str, Any]:
        return {"Shards": [{"ShardId": "shard-a"}, {"ShardId": "shard-b"}]}

    def get_shard_iterator(self, *, ShardId: str, **_kwargs: Any) -> dict[str, Any]:  # noqa: N803
        return {"ShardIterator": ShardId}

    def get_records(self, *, ShardIterator: str, **_kwargs: Any) -> dict[str, Any]:  # noqa: N803
        self.gate(ShardIterator)
        first = ShardIterator not in self.served
        self.served[ShardIterator] = self.served.get(ShardIterator, 0) + 1
        records = [
            {
                "Data": f"tick of {ShardIterator}".encode(),
                "PartitionKey": "AAPL",
                "SequenceNumber": "1",
                "ApproximateArrivalTimestamp": ARRIVAL,
            }
        ]
        return {"Records": records if first else [], "NextShardIterator": ShardIterator}


class Recorder:
    """A processor that keeps what it was given; `fail_on` makes one shard exit."""

    def __init__(self, log: list[tuple[str, Any]], fail_on: str | None = None) -> None:
        self.log = log
        self.fail_on = fail_on
        self.shard = ""

    def initialize(self, message: Any) -> None:
        self.shard = message.shard_id

    def process_records(self, message: Any) -> None:
        if message.records and self.shard == self.fail_on:
            raise SystemExit(3)
        for r in message.records:
            self.log.append((self.shard, (r.binary_data, r.timestamp_millis, r.partition_key)))

    def shutdown_requested(self, _message: Any) -> None:
        self.log.append((self.shard, "shutdown"))

    def shard_ended(self, _message: Any) -> None:
        self.log.append((self.shard, "ended"))


def run_until(driver: LocalDriver, done: Any, timeout: float = 10) -> threading.Thread:
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            driver.run(stop)
        except BaseException as e:  # kept for the test to assert on
            errors.append(e)

    runner = threading.Thread(target=target)
    runner.start()
    waited = 0.0
    while not done() and waited < timeout and runner.is_alive():
        threading.Event().wait(0.02)
        waited += 0.02
    stop.set()
    runner.join(timeout)
    assert not runner.is_alive()
    runner.errors = errors  # type: ignore[attr-defined]
    return runner


def driver(kinesis: FakeKinesis, log: list[tuple[str, Any]], fail_on: str | None = None) -> Any:
    return LocalDriver(
        kinesis,
        FakeCheckpointTable(),
        "stream",
        "app",
        lambda: Recorder(log, fail_on),
        poll_interval_s=0.01,
        sleep=lambda _s: None,
    )


def test_a_shard_is_read_while_another_shards_read_is_still_in_flight() -> None:
    # GIVEN shard-a's first GetRecords does not return until shard-b has been read
    b_read = threading.Event()
    held: list[bool] = []

    def gate(shard: str) -> None:
        if shard == "shard-b":
            b_read.set()
        elif not held:
            held.append(b_read.wait(timeout=3))

    log: list[tuple[str, Any]] = []
    kinesis = FakeKinesis(gate)
    # WHEN the driver runs until both shards' records are processed
    run_until(driver(kinesis, log), lambda: len([e for e in log if e[1] != "shutdown"]) == 2)
    # THEN shard-b was read while shard-a's read was held (one thread per shard)
    assert held == [True]
    assert {shard for shard, _ in log} == {"shard-a", "shard-b"}


def test_records_reach_the_processor_as_bytes_with_their_arrival_time() -> None:
    log: list[tuple[str, Any]] = []
    run_until(driver(FakeKinesis(), log), lambda: len(log) == 2)
    got = sorted(entry for entry in log if entry[1] != "shutdown")
    arrival_ms = int(ARRIVAL.timestamp() * 1000)
    assert got == [
        ("shard-a", (b"tick of shard-a", arrival_ms, "AAPL")),
        ("shard-b", (b"tick of shard-b", arrival_ms, "AAPL")),
    ]


def test_stop_asks_every_shards_processor_to_shut_down() -> None:
    log: list[tuple[str, Any]] = []
    run_until(driver(FakeKinesis(), log), lambda: len(log) == 2)
    assert sorted(shard for shard, what in log if what == "shutdown") == ["shard-a", "shard-b"]


def test_a_processor_that_exits_stops_every_shard_and_run_raises_its_exit() -> None:
    # GIVEN shard-b's processor exits on its records (a write that cannot be made durable)
    log: list[tuple[str, Any]] = []
    runner = run_until(driver(FakeKinesis(), log, fail_on="shard-b"), lambda: False, timeout=3)
    # THEN run raised that SystemExit, shard-a was shut down, shard-b was not flushed
    errors = runner.errors  # type: ignore[attr-defined]
    assert len(errors) == 1 and isinstance(errors[0], SystemExit) and errors[0].code == 3
    assert ("shard-a", "shutdown") in log
    assert ("shard-b", "shutdown") not in log


def test_a_closed_shard_ends_once_and_is_not_shut_down() -> None:
    class Closing(FakeKinesis):
        def get_records(self, **kwargs: Any) -> dict[str, Any]:
            page = super().get_records(**kwargs)
            return {**page, "NextShardIterator": None}

    log: list[tuple[str, Any]] = []
    run_until(driver(Closing(), log), lambda: log.count(("shard-b", "ended")) == 1)
    assert [what for shard, what in log if shard == "shard-a"][1:] == ["ended"]


def get_records_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetRecords"
    )


class Failing(FakeKinesis):
    """GetRecords fails with `fault` the first `failures` times on every shard."""

    def __init__(self, fault: ClientError, failures: int) -> None:
        super().__init__()
        self.fault = fault
        self.failures = failures
        self.failed: dict[str, int] = {}

    def get_records(self, *, ShardIterator: str, **kwargs: Any) -> dict[str, Any]:  # noqa: N803
        if self.failed.get(ShardIterator, 0) < self.failures:
            self.failed[ShardIterator] = self.failed.get(ShardIterator, 0) + 1
            raise self.fault
        return super().get_records(ShardIterator=ShardIterator, **kwargs)


def test_a_server_error_or_throttling_on_get_records_is_retried() -> None:
    # GIVEN GetRecords fails twice per shard: a 5xx on one run, throttling on another
    throttled = get_records_error("ProvisionedThroughputExceededException", 400)
    for fault in (get_records_error("InternalFailure", 500), throttled):
        log: list[tuple[str, Any]] = []
        kinesis = Failing(fault, failures=2)
        runner = run_until(driver(kinesis, log), lambda log=log: len(log) == 2)  # type: ignore[misc]
        # THEN both shards' records arrive and the driver did not stop
        assert runner.errors == []  # type: ignore[attr-defined]
        assert sorted(shard for shard, what in log if what != "shutdown") == ["shard-a", "shard-b"]


def test_a_get_records_error_of_the_request_stops_the_driver() -> None:
    expired = get_records_error("ExpiredIteratorException", 400)
    runner = run_until(driver(Failing(expired, failures=1), []), lambda: False, timeout=3)
    (error,) = runner.errors  # type: ignore[attr-defined]
    assert error is expired
