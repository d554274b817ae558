"""The record processor through kclpy's message types, with an in-memory sink."""

from __future__ import annotations

import pytest

from consumer.batch import Batch
from consumer.processor import EXIT_SINK_FAILURE, TickProcessor
from consumer.sinks import SinkError
from tests.factories import ticks
from tests.unit.consumer import kcl_messages as msg
from tests.unit.consumer.kcl_messages import RecordingCheckpointer


class MemorySink:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[Batch] = []
        self.fail = fail

    def write(self, batch: Batch) -> None:
        if self.fail:
            raise SinkError("S3 is down")
        self.batches.append(batch)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def records(n: int, start_seq: int = 1) -> list[dict[str, object]]:
    """n distinct ticks; sequence numbers pick the ticks, so no two calls overlap."""
    chosen = ticks(start_seq - 1 + n)[start_seq - 1 :]
    return [msg.record(t.encode(), start_seq + i) for i, t in enumerate(chosen)]


def make(sink: MemorySink, clock: FakeClock | None = None, **kwargs: object) -> TickProcessor:
    processor = TickProcessor(
        sink,
        monotonic=clock or FakeClock(),
        sleep=lambda s: None,
        **kwargs,
    )  # type: ignore[arg-type]
    msg.initialize().dispatch(RecordingCheckpointer(), processor)
    return processor


def deliver(processor: TickProcessor, batch: list[dict[str, object]]) -> RecordingCheckpointer:
    checkpointer = RecordingCheckpointer()
    msg.process_records(batch).dispatch(checkpointer, processor)
    return checkpointer


def test_flushes_at_the_size_limit_then_checkpoints_the_last_record() -> None:
    sink = MemorySink()
    processor = make(sink, flush_records=100, flush_age_s=60)
    assert deliver(processor, records(60)).calls == []  # buffered, not yet durable
    checkpointer = deliver(processor, records(60, start_seq=61))
    assert [b.ticks.height for b in sink.batches] == [120]
    assert checkpointer.calls == [("120", 0)]


def test_flushes_by_age_even_when_no_records_arrive() -> None:
    sink, clock = MemorySink(), FakeClock()
    processor = make(sink, clock, flush_records=10_000, flush_age_s=2)
    deliver(processor, records(5))
    clock.now += 2.5
    checkpointer = deliver(processor, [])  # the daemon calls with an empty list
    assert [b.ticks.height for b in sink.batches] == [5]
    assert checkpointer.calls == [("5", 0)]


def test_a_sink_failure_exits_without_checkpointing() -> None:
    processor = make(MemorySink(fail=True), flush_records=1)
    checkpointer = RecordingCheckpointer()
    with pytest.raises(SystemExit) as exited:
        msg.process_records(records(3)).dispatch(checkpointer, processor)
    assert exited.value.code == EXIT_SINK_FAILURE
    assert checkpointer.calls == []


def test_lease_lost_drops_the_buffer_and_never_checkpoints() -> None:
    sink = MemorySink()
    processor = make(sink, flush_records=1000, flush_age_s=60)
    deliver(processor, records(10))
    msg.lease_lost().dispatch(RecordingCheckpointer(), processor)
    assert deliver(processor, records(2000, start_seq=11)).calls == []
    assert sink.batches == []


def test_shard_end_flushes_then_checkpoints_the_end() -> None:
    sink = MemorySink()
    processor = make(sink, flush_records=1000, flush_age_s=60)
    deliver(processor, records(7))
    checkpointer = RecordingCheckpointer()
    msg.shard_ended().dispatch(checkpointer, processor)
    assert [b.ticks.height for b in sink.batches] == [7]
    assert checkpointer.calls == [(None, None)]  # no argument = SHARD_END


def test_shutdown_requested_flushes_and_checkpoints_the_buffer() -> None:
    sink = MemorySink()
    processor = make(sink, flush_records=1000, flush_age_s=60)
    deliver(processor, records(7))
    checkpointer = RecordingCheckpointer()
    msg.shutdown_requested().dispatch(checkpointer, processor)
    assert [b.ticks.height for b in sink.batches] == [7]
    assert checkpointer.calls == [("7", 0)]


def test_checkpoint_throttling_is_retried() -> None:
    processor = make(MemorySink(), flush_records=1)
    checkpointer = RecordingCheckpointer(errors=["ThrottlingException", "ThrottlingException"])
    msg.process_records(records(1)).dispatch(checkpointer, processor)
    assert checkpointer.calls == [("1", 0)] * 3


def test_checkpoint_shutdown_error_means_the_lease_is_gone() -> None:
    sink = MemorySink()
    processor = make(sink, flush_records=1)
    checkpointer = RecordingCheckpointer(errors=["ShutdownException"])
    msg.process_records(records(1)).dispatch(checkpointer, processor)
    deliver(processor, records(5, start_seq=2))
    assert len(sink.batches) == 1 and processor.stopped


def test_invalid_state_on_checkpoint_exits() -> None:
    processor = make(MemorySink(), flush_records=1)
    with pytest.raises(SystemExit):
        msg.process_records(records(1)).dispatch(
            RecordingCheckpointer(errors=["InvalidStateException"]), processor
        )


def test_bad_records_become_dead_letters_and_processing_continues() -> None:
    sink = MemorySink()
    processor = make(sink, flush_records=4)
    duplicate = records(1)[0] | {"sequenceNumber": "4"}  # a producer retry that succeeded
    batch = [*records(2), msg.record(b"{oops", 3), duplicate]
    checkpointer = deliver(processor, batch)
    [flushed] = sink.batches
    assert flushed.ticks.height == 2  # the duplicate id is kept once
    assert [(d.rule, d.sequence_number) for d in flushed.dead_letters] == [("not_json", "3")]
    assert checkpointer.calls == [("4", 0)]


def test_nothing_is_written_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    processor = make(MemorySink(), flush_records=1)
    deliver(processor, [*records(3), msg.record(b"bad", 9)])
    msg.shutdown_requested().dispatch(RecordingCheckpointer(), processor)
    assert capsys.readouterr().out == ""


def test_event_time_is_judged_against_the_records_arrival_not_a_clock() -> None:
    # GIVEN ticks stamped 1 min and 6 min after their Kinesis arrival (default skew: 5 min)
    tick = ticks(1)[0]
    arrival = tick.event_time_ms - 60_000
    sink = MemorySink()
    processor = make(sink, flush_records=2)
    deliver(
        processor,
        [msg.record(tick.encode(), 1, arrival_ms=arrival), msg.record(tick.encode(), 2, arrival)],
    )
    late = tick.event_time_ms - 6 * 60_000
    deliver(processor, [msg.record(tick.encode(), 3, late), msg.record(tick.encode(), 4, late)])
    # THEN the first two are kept (once), the other two are dead letters, on every replay
    first, second = sink.batches
    assert first.ticks.height == 1 and first.dead_letters == []
    assert second.ticks.height == 0
    assert [(d.rule, d.sequence_number) for d in second.dead_letters] == [
        ("bad_time", "3"),
        ("bad_time", "4"),
    ]


def test_the_skew_bound_is_a_setting() -> None:
    tick = ticks(1)[0]
    sink = MemorySink()
    processor = make(sink, flush_records=1, max_future_skew_ms=0)
    deliver(processor, [msg.record(tick.encode(), 1, arrival_ms=tick.event_time_ms - 1)])
    [flushed] = sink.batches
    assert [d.rule for d in flushed.dead_letters] == ["bad_time"]


def test_an_unexpected_error_in_a_flush_exits_instead_of_growing_the_buffer() -> None:
    class BrokenSink(MemorySink):
        def write(self, batch: Batch) -> None:
            raise KeyError("a bug, not a SinkError")

    processor = make(BrokenSink(), flush_records=1)
    checkpointer = RecordingCheckpointer()
    with pytest.raises(SystemExit) as exited:
        msg.process_records(records(3)).dispatch(checkpointer, processor)
    assert exited.value.code == EXIT_SINK_FAILURE
    assert checkpointer.calls == []
