"""What an operator and the daemon see of the record processor: the log line of each lifecycle
event (with its shard), the exit code and log of each failure, the shard and stream position
each write and checkpoint carries, and the checkpoint's back-off."""

from __future__ import annotations

import logging

import pytest

from consumer.processor import EXIT_CHECKPOINT_FAILURE, TickProcessor
from tests.unit.consumer import kcl_messages as msg
from tests.unit.consumer.kcl_messages import RecordingCheckpointer
from tests.unit.consumer.test_processor import FakeClock, MemorySink, deliver, records

SHARD = "shardId-000000000007"
LOGGER = "consumer.processor"


def started(sink: MemorySink, **kwargs: object) -> TickProcessor:
    processor = TickProcessor(sink, monotonic=FakeClock(), sleep=lambda s: None, **kwargs)  # type: ignore[arg-type]
    msg.initialize(SHARD).dispatch(RecordingCheckpointer(), processor)
    return processor


def messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER]


def test_each_lifecycle_event_is_logged_with_its_shard(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    # GIVEN a processor started on a shard; WHEN it reads, flushes, buffers, then stops
    sink = MemorySink()
    processor = started(sink, cold_age_s=0)
    deliver(processor, [*records(3), msg.record(b"{oops", 4)])
    processor = started(sink, cold_age_s=300)
    deliver(processor, records(5, start_seq=10))
    msg.shutdown_requested().dispatch(RecordingCheckpointer(), processor)
    processor = started(sink, cold_age_s=300)
    deliver(processor, records(2, start_seq=20))
    msg.lease_lost().dispatch(RecordingCheckpointer(), processor)
    # THEN each step says what it did, on which shard, with its counts
    start = (logging.INFO, f"processing shard {SHARD} from TRIM_HORIZON")
    assert messages(caplog) == [
        start,
        (logging.DEBUG, f"history flush of 4 record(s), 3 row(s), 1 dead letter(s) from {SHARD}"),
        start,
        (logging.INFO, f"shutdown requested on {SHARD}; flushing 5 record(s)"),
        (logging.DEBUG, f"history flush of 5 record(s), 5 row(s), 0 dead letter(s) from {SHARD}"),
        start,
        (logging.INFO, f"lease lost on {SHARD}; dropping 2 buffered record(s)"),
    ]


@pytest.mark.parametrize(("fail", "what"), [("hot", "hot write"), ("cold", "history flush")])
def test_a_failed_write_logs_what_failed_on_which_shard_with_the_error(
    caplog: pytest.LogCaptureFixture, fail: str, what: str
) -> None:
    processor = started(MemorySink(fail=fail), cold_age_s=0)
    with pytest.raises(SystemExit):
        deliver(processor, records(2))
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == (
        f"{what} from {SHARD} failed; exiting so the shard is re-read from its last checkpoint"
    )
    assert record.exc_info is not None and "is down" in str(record.exc_info[1])


def test_every_write_and_dead_letter_carries_the_shard_it_came_from() -> None:
    sink = MemorySink()
    processor = started(sink, cold_age_s=0)
    deliver(processor, [*records(2), msg.record(b"{oops", 3)])
    [hot], [cold] = sink.hot, sink.cold
    assert hot.shard_id == cold.shard_id == SHARD
    assert [d.shard_id for d in cold.dead_letters] == [SHARD]


def test_the_checkpoint_names_the_sub_sequence_of_an_aggregated_record() -> None:
    # GIVEN the last record of a flush is the 4th user record of a KPL-aggregated record
    processor = started(MemorySink(), cold_age_s=0)
    batch = records(3)
    batch[-1] = batch[-1] | {"subSequenceNumber": 4}
    # THEN the checkpoint names that exact position, not the record's start
    assert deliver(processor, batch).calls == [("3", 4)]


def test_after_shutdown_the_processor_takes_no_more_records() -> None:
    sink = MemorySink()
    processor = started(sink, cold_age_s=0)
    deliver(processor, records(2))
    msg.shutdown_requested().dispatch(RecordingCheckpointer(), processor)
    assert deliver(processor, records(3, start_seq=5)).calls == []
    assert [b.last_sequence_number for b in sink.hot] == ["2"]


def test_checkpoint_throttling_backs_off_then_exits_with_its_own_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN the default policy (6 attempts, 0.5 s doubling to 2.5 s) and a daemon that throttles
    waits: list[float] = []
    processor = TickProcessor(MemorySink(), cold_age_s=0, sleep=waits.append)
    msg.initialize(SHARD).dispatch(RecordingCheckpointer(), processor)
    checkpointer = RecordingCheckpointer(errors=["ThrottlingException"] * 6)
    # WHEN a flush checkpoints
    with pytest.raises(SystemExit) as exited:
        msg.process_records(records(1)).dispatch(checkpointer, processor)
    # THEN it waited between attempts, gave up after the sixth, and said why
    assert waits == [0.5, 1.0, 2.0, 2.5, 2.5]
    assert len(checkpointer.calls) == 6
    assert exited.value.code == EXIT_CHECKPOINT_FAILURE
    assert messages(caplog)[-1] == (
        logging.ERROR,
        f"checkpoint on {SHARD} failed: ThrottlingException",
    )


def test_a_checkpoint_the_daemon_refuses_exits_with_the_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    processor = started(MemorySink(), cold_age_s=0)
    checkpointer = RecordingCheckpointer(errors=["InvalidStateException"])
    with pytest.raises(SystemExit) as exited:
        msg.process_records(records(1)).dispatch(checkpointer, processor)
    assert exited.value.code == EXIT_CHECKPOINT_FAILURE and len(checkpointer.calls) == 1
    assert messages(caplog)[-1] == (
        logging.ERROR,
        f"checkpoint on {SHARD} failed: InvalidStateException",
    )


def test_a_lost_lease_at_checkpoint_is_logged_and_stops_the_processor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    processor = started(MemorySink(), cold_age_s=0)
    msg.process_records(records(1)).dispatch(
        RecordingCheckpointer(errors=["ShutdownException"]), processor
    )
    assert messages(caplog)[-1] == (logging.INFO, f"checkpoint refused on {SHARD}: lease lost")
    assert processor.stopped
