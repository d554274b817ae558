"""Publisher behaviour the first tests left unchecked (found by mutation testing, docs/testing.md):
backpressure on a stalled stream, a publishing thread that dies, closing with a full buffer,
call sizes, the settings wiring and the log lines an operator reads.

The client is the scripted PutRecords stand-in of test_publisher.py, here also able to stall
(a throttled stream) or to fail with an error no retry covers.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from common.retry import RetryPolicy
from common.settings import ProducerSettings
from common.tick import InvalidTick, Tick
from producer.publisher import KinesisPublisher, PublisherClosed, publisher_for
from tests.factories import ticks
from tests.unit.producer.test_publisher import ScriptedKinesis, publish

WAIT_S = 10.0  # upper bound for a thread to react; each test normally takes milliseconds


class StalledKinesis(ScriptedKinesis):
    """PutRecords waits for `release`; `broken` makes it raise what no retry covers instead."""

    def __init__(self, broken: bool = False) -> None:
        super().__init__()
        self.broken = broken
        self.release = threading.Event()
        self.in_call = threading.Event()

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.in_call.set()
        assert self.release.wait(WAIT_S)
        if self.broken:
            raise KeyError("Records")  # e.g. a response without the field we read
        return super().put_records(StreamName, Records)


def in_background(call: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """Run `call` in a thread; exceptions it raises are collected in the list."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def fill(client: StalledKinesis, buffer_records: int) -> tuple[KinesisPublisher, list[bytes]]:
    """A publisher whose thread is stuck in PutRecords with one tick and whose buffer is full."""
    publisher = KinesisPublisher(client, "ticks", buffer_records=buffer_records, linger_s=0)
    publisher.start()
    batch = ticks(buffer_records + 1)
    publisher.send(batch[0])
    assert client.in_call.wait(WAIT_S)  # the thread holds batch[0] inside PutRecords
    for tick in batch[1:]:
        publisher.send(tick)  # fills the buffer exactly
    return publisher, [t.encode() for t in batch]


def test_a_full_buffer_holds_the_source_back_until_the_stream_takes_records() -> None:
    client = StalledKinesis()
    publisher, sent = fill(client, buffer_records=2)
    # WHEN one more tick is sent while the stream is stalled
    extra = ticks(4)[3]
    sender, errors = in_background(lambda: publisher.send(extra))
    sender.join(0.8)
    assert sender.is_alive(), "send returned although the buffer was full"
    # THEN it goes through once the stream takes records, and nothing is lost
    client.release.set()
    sender.join(WAIT_S)
    assert not sender.is_alive() and errors == []
    publisher.close()
    assert sorted(client.stored) == sorted([*sent, extra.encode()])


def test_a_send_blocked_on_a_full_buffer_fails_when_the_publishing_thread_dies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = StalledKinesis(broken=True)
    publisher, _ = fill(client, buffer_records=1)
    sender, errors = in_background(lambda: publisher.send(ticks(3)[2]))
    with caplog.at_level(logging.ERROR, logger="producer.publisher"):
        client.release.set()  # the thread's PutRecords now raises KeyError and the thread ends
        sender.join(WAIT_S)
    # THEN the blocked producer is told, with the thread's error as the cause
    assert not sender.is_alive()
    [error] = errors
    assert isinstance(error, PublisherClosed) and str(error) == "publisher is closed"
    assert isinstance(error.__cause__, KeyError)
    [record] = caplog.records
    assert record.getMessage() == "publishing thread failed" and record.exc_info is not None
    # AND closing reports the failure instead of returning counters
    with pytest.raises(PublisherClosed, match=r"^publishing thread failed$") as failure:
        publisher.close()
    assert isinstance(failure.value.__cause__, KeyError)
    with pytest.raises(PublisherClosed, match=r"^publisher is closed$"):
        publisher.send(ticks(1)[0])


def test_close_with_a_full_buffer_flushes_everything_once_the_stream_recovers() -> None:
    client = StalledKinesis()
    publisher, sent = fill(client, buffer_records=2)
    closer, errors = in_background(publisher.close)
    closer.join(0.8)
    assert closer.is_alive()  # still waiting to hand over its stop marker
    client.release.set()
    closer.join(WAIT_S)
    assert not closer.is_alive() and errors == []
    assert sorted(client.stored) == sorted(sent)
    assert publisher.counters.sent == 3 and publisher.counters.calls == 2


def test_close_with_a_full_buffer_and_a_dead_thread_fails_instead_of_hanging() -> None:
    client = StalledKinesis(broken=True)
    publisher, _ = fill(client, buffer_records=1)
    closer, errors = in_background(publisher.close)
    client.release.set()
    closer.join(WAIT_S)
    assert not closer.is_alive()
    assert [type(e) for e in errors] == [PublisherClosed]


def test_close_is_idempotent_and_needs_no_start() -> None:
    publisher, _ = publish(ScriptedKinesis(), 3)
    assert publisher.close().sent == 3  # a second close returns the same counters
    never_started = KinesisPublisher(ScriptedKinesis(), "ticks")
    assert never_started.close().calls == 0
    with pytest.raises(PublisherClosed):
        never_started.send(ticks(1)[0])


def test_a_full_call_goes_out_at_once_without_waiting_for_the_linger() -> None:
    # GIVEN a long linger WHEN 1000 ticks are sent at once
    client = ScriptedKinesis()
    with KinesisPublisher(client, "ticks", buffer_records=2000, linger_s=30.0) as publisher:
        for tick in ticks(1000):
            publisher.send(tick)
    # THEN two calls of exactly 500, no third one for a 501st record
    assert [len(c) for c in client.calls] == [500, 500]


def test_a_lone_tick_goes_out_after_the_linger_without_a_close() -> None:
    client = ScriptedKinesis()
    publisher = KinesisPublisher(client, "ticks", linger_s=0.05).start()
    publisher.send(ticks(1)[0])
    arrived = threading.Event()
    watcher, _ = in_background(lambda: wait_until(lambda: len(client.stored) == 1, arrived))
    watcher.join(WAIT_S)
    assert arrived.is_set(), "the tick waited for more than the linger"
    publisher.close()


def wait_until(condition: Callable[[], bool], done: threading.Event) -> None:
    while not condition():
        done.wait(0.01)
    done.set()


def test_the_publishing_thread_is_named_and_does_not_hold_the_interpreter() -> None:
    publisher = KinesisPublisher(ScriptedKinesis(), "ticks").start()
    try:
        [thread] = [t for t in threading.enumerate() if t.name == "kinesis-publisher"]
        assert thread.daemon
    finally:
        publisher.close()


def test_a_failed_call_is_retried_whole_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    class FailsOnce(ScriptedKinesis):
        def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            if not self.calls:
                self.calls.append([])
                raise ClientError(
                    {"Error": {"Code": "InternalFailure", "Message": "try again"}}, "PutRecords"
                )
            return super().put_records(StreamName, Records)

    client = FailsOnce()
    with caplog.at_level(logging.INFO, logger="producer.publisher"):
        publisher, sleeps = publish(client, 3, retry=RetryPolicy(3, 0.1, 1.0))
    assert len(client.stored) == 3 and publisher.counters.retried == 3
    assert sleeps == [0.1]
    assert [r.getMessage() for r in caplog.records] == [
        "PutRecords of 3 record(s) failed: An error occurred (InternalFailure) when calling "
        "the PutRecords operation: try again"
    ]


def test_partial_failures_and_the_give_up_are_logged_with_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batch = ticks(5)
    failing = {batch[1].encode(), batch[3].encode()}
    with caplog.at_level(logging.INFO, logger="producer.publisher"):
        publish(ScriptedKinesis(fail_first=failing), 5)
        publish(ScriptedKinesis(always_fail=True), 3, retry=RetryPolicy(2, 0.1, 1.0))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "2 of 5 record(s) failed ({'ProvisionedThroughputExceededException'}); retrying"),
        ("INFO", "3 of 3 record(s) failed ({'ProvisionedThroughputExceededException'}); retrying"),
        ("INFO", "3 of 3 record(s) failed ({'ProvisionedThroughputExceededException'}); retrying"),
        ("ERROR", "gave up on 3 record(s) after 2 attempts"),
    ]


def test_an_access_error_on_start_is_raised_as_is() -> None:
    class Denied(ScriptedKinesis):
        def describe_stream_summary(self, StreamName: str) -> dict[str, Any]:  # noqa: N803
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                "DescribeStreamSummary",
            )

    with pytest.raises(ClientError, match="AccessDeniedException"):
        KinesisPublisher(Denied(), "ticks").start()


def test_publisher_for_applies_the_producer_settings() -> None:
    settings = ProducerSettings(
        stream_name="ticks", producer_max_attempts=2, producer_buffer_records=1
    )
    client = StalledKinesis()
    publisher = publisher_for(settings, client)
    # the configured buffer: one tick in the call, one queued, the third waits
    batch = ticks(3)
    publisher.send(batch[0])
    assert client.in_call.wait(WAIT_S)
    publisher.send(batch[1])
    sender, _ = in_background(lambda: publisher.send(batch[2]))
    sender.join(0.5)
    assert sender.is_alive()
    client.release.set()
    sender.join(WAIT_S)
    publisher.close()
    assert len(client.stored) == 3
    # the configured attempts (no sleep is injected here: one real wait of at most 0.1 s)
    failing = ScriptedKinesis(always_fail=True)
    giving_up = publisher_for(settings, failing)
    giving_up.send(ticks(1)[0])
    assert giving_up.close().failed == 1 and len(failing.calls) == 2


def test_publisher_for_uses_the_configured_linger() -> None:
    # GIVEN a linger of 1.5 s (the default is 0.2 s) WHEN a second tick follows 0.5 s later
    client = ScriptedKinesis()
    settings = ProducerSettings(stream_name="ticks", producer_linger_ms=1500)
    publisher = publisher_for(settings, client)
    first, second = ticks(2)
    publisher.send(first)
    threading.Event().wait(0.5)
    publisher.send(second)
    # THEN both leave in one call, without waiting for a close
    arrived = threading.Event()
    watcher, _ = in_background(lambda: wait_until(lambda: len(client.stored) == 2, arrived))
    watcher.join(WAIT_S)
    assert arrived.is_set()
    assert client.calls == [[first.encode(), second.encode()]]
    publisher.close()


def test_ticks_that_arrive_within_the_linger_share_one_call() -> None:
    """A linger under one second: the wait for the second tick must use the time left."""
    client = ScriptedKinesis()
    publisher = KinesisPublisher(client, "ticks", linger_s=0.95).start()
    first, second = ticks(2)
    publisher.send(first)
    threading.Event().wait(0.1)  # well inside the linger (below 1 s, see the docstring)
    publisher.send(second)
    publisher.close()
    assert client.calls == [[first.encode(), second.encode()]]


def test_every_call_names_the_stream() -> None:
    names: list[str] = []

    class NameRecorder(ScriptedKinesis):
        def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            names.append(StreamName)
            return super().put_records(StreamName, Records)

    publish(NameRecorder(fail_first={ticks(3)[1].encode()}), 3)
    assert names == ["ticks", "ticks"]


def test_a_response_that_does_not_match_the_request_stops_the_publisher() -> None:
    class Mismatched(ScriptedKinesis):
        def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            return {"FailedRecordCount": 1, "Records": [{"ErrorCode": "InternalFailure"}]}

    publisher = KinesisPublisher(Mismatched(), "ticks", linger_s=0.01).start()
    for tick in ticks(3):
        publisher.send(tick)
    with pytest.raises(PublisherClosed) as failure:
        publisher.close()
    assert isinstance(failure.value.__cause__, ValueError)  # not silently retried as a subset


def test_records_given_up_are_counted_across_calls() -> None:
    client = ScriptedKinesis(always_fail=True)
    publisher, _ = publish(client, 600, retry=RetryPolicy(2, 0.1, 1.0), buffer_records=1000)
    assert publisher.counters.failed == 600 and publisher.counters.sent == 0


def test_a_send_while_closing_is_refused_at_once() -> None:
    client = StalledKinesis()
    publisher, sent = fill(client, buffer_records=1)
    closer, _ = in_background(publisher.close)
    closer.join(0.3)
    assert closer.is_alive()
    with pytest.raises(PublisherClosed, match=r"^publisher is closed$"):
        publisher.send(ticks(3)[2])
    client.release.set()
    closer.join(WAIT_S)
    assert sorted(client.stored) == sorted(sent)


def test_the_publishers_defaults_are_the_producer_settings_defaults() -> None:
    # benches and tests make publishers without the settings: they must behave as deployed
    defaults = inspect.signature(KinesisPublisher).parameters
    fields = ProducerSettings.model_fields
    assert defaults["buffer_records"].default == fields["producer_buffer_records"].default
    assert defaults["linger_s"].default * 1000 == fields["producer_linger_ms"].default


def test_an_unencodable_tick_is_refused_with_its_id_and_the_encoders_reason() -> None:
    publisher = KinesisPublisher(ScriptedKinesis(), "ticks")
    too_big = Tick("big-volume", "AAPL", 1_764_000_000_000, 1.0, 2**64, "test")
    with pytest.raises(InvalidTick) as refused:
        publisher.send(too_big)
    assert refused.value.rule == "unencodable"
    assert refused.value.reason.startswith("cannot encode big-volume: ")
    assert "Integer exceeds 64-bit range" in refused.value.reason
