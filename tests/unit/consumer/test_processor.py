"""The record processor through kclpy's message types, with an in-memory sink."""

from __future__ import annotations

import pytest

from common.settings import ConsumerSettings
from consumer.batch import Batch
from consumer.processor import EXIT_SINK_FAILURE, TickProcessor
from consumer.sinks import SinkError
from tests.factories import ticks
from tests.unit.consumer import kcl_messages as msg
from tests.unit.consumer.kcl_messages import RecordingCheckpointer


class MemorySink:
    """Both paths in memory; `log` keeps the order of hot writes, cold writes (and checkpoints,
    when a RecordingCheckpointer shares it)."""

    def __init__(self, fail: str = "") -> None:
        self.hot: list[Batch] = []
        self.cold: list[Batch] = []
        self.fail = fail
        self.log: list[str] = []

    def write_hot(self, batch: Batch) -> Batch:
        if self.fail == "hot":
            raise SinkError("DynamoDB is down")
        self.hot.append(batch)
        self.log.append(f"hot {batch.last_sequence_number}")
        return batch

    def write_cold(self, batch: Batch) -> None:
        if self.fail == "cold":
            raise SinkError("S3 is down")
        self.cold.append(batch)
        self.log.append(f"cold {batch.last_sequence_number}")


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


def test_every_batch_goes_hot_at_once_and_history_waits_for_its_age_bound() -> None:
    # GIVEN a 300 s age bound and a clock the test moves
    sink, clock = MemorySink(), FakeClock()
    processor = make(sink, clock, cold_age_s=300, cold_max_bytes=10**9)
    # WHEN three batches arrive over 299 s
    for i in range(3):
        assert deliver(processor, records(10, start_seq=1 + 10 * i)).calls == []
        clock.now += 149.5 if i < 2 else 0
    # THEN each went to DynamoDB at once, none to S3, nothing was checkpointed
    assert [b.ticks.height for b in sink.hot] == [10, 10, 10]
    assert sink.cold == []
    # WHEN the age bound passes (the daemon calls with an empty list when idle)
    clock.now += 1.0
    checkpointer = deliver(processor, [])
    # THEN one history flush holds all 30 rows and the checkpoint names its last record
    assert [b.ticks.height for b in sink.cold] == [30]
    assert checkpointer.calls == [("30", 0)]
    assert processor.history.records == 0


def test_the_age_counts_from_the_first_record_of_the_history_buffer() -> None:
    sink, clock = MemorySink(), FakeClock()
    processor = make(sink, clock, cold_age_s=10, cold_max_bytes=10**9)
    clock.now += 50  # idle time before any record does not age the buffer
    deliver(processor, [])
    deliver(processor, records(5))
    clock.now += 9
    assert deliver(processor, []).calls == [] and sink.cold == []
    clock.now += 1
    assert deliver(processor, []).calls == [("5", 0)]


def test_reaching_the_byte_cap_flushes_history_before_the_age_bound() -> None:
    # GIVEN a cap a little above one 100-tick batch's size in memory
    sink, clock = MemorySink(), FakeClock()
    probe = make(MemorySink(), clock, cold_max_bytes=10**9)
    deliver(probe, records(100))
    one_batch = probe.history.size_bytes
    processor = make(sink, clock, cold_age_s=300, cold_max_bytes=int(one_batch * 1.5))
    # WHEN two batches arrive at the same instant
    assert deliver(processor, records(100)).calls == []
    checkpointer = deliver(processor, records(100, start_seq=101))
    # THEN the second crosses the cap: one flush of both, checkpointed at its end
    assert [b.ticks.height for b in sink.cold] == [200]
    assert checkpointer.calls == [("200", 0)]
    assert processor.history.size_bytes == 0


def test_the_checkpoint_never_runs_ahead_of_the_history_flush() -> None:
    # GIVEN a sink and checkpointer sharing one log of events
    sink, clock = MemorySink(), FakeClock()
    processor = make(sink, clock, cold_age_s=5, cold_max_bytes=10**9)
    checkpointed: list[str] = []
    for i in range(12):
        checkpointer = deliver(processor, records(7, start_seq=1 + 7 * i))
        for sequence, _sub in checkpointer.calls:
            sink.log.append(f"checkpoint {sequence}")
            checkpointed.append(str(sequence))
        clock.now += 2
    # THEN every checkpoint names the end of the history flush just before it
    assert checkpointed, "the age bound should have flushed at least once"
    for i, event in enumerate(sink.log):
        if event.startswith("checkpoint"):
            assert sink.log[i - 1] == f"cold {event.split()[1]}"
    # AND every checkpointed record is in a cold flush, never only in the hot store
    flushed = {t for b in sink.cold for t in b.ticks["sequence_number"].to_list()}
    assert all(str(s) in flushed for s in range(1, int(checkpointed[-1]) + 1))


def test_a_hot_write_failure_exits_without_checkpointing() -> None:
    processor = make(MemorySink(fail="hot"), cold_age_s=0)
    checkpointer = RecordingCheckpointer()
    with pytest.raises(SystemExit) as exited:
        msg.process_records(records(3)).dispatch(checkpointer, processor)
    assert exited.value.code == EXIT_SINK_FAILURE
    assert checkpointer.calls == []


def test_a_history_flush_failure_exits_without_checkpointing() -> None:
    sink = MemorySink(fail="cold")
    processor = make(sink, cold_age_s=0)
    checkpointer = RecordingCheckpointer()
    with pytest.raises(SystemExit) as exited:
        msg.process_records(records(3)).dispatch(checkpointer, processor)
    assert exited.value.code == EXIT_SINK_FAILURE
    assert checkpointer.calls == []


def test_lease_lost_drops_the_history_buffer_and_never_checkpoints() -> None:
    sink = MemorySink()
    processor = make(sink, cold_age_s=60)
    deliver(processor, records(10))
    msg.lease_lost().dispatch(RecordingCheckpointer(), processor)
    assert deliver(processor, records(2000, start_seq=11)).calls == []
    assert sink.cold == [] and processor.history.records == 0
    shutdown = RecordingCheckpointer()
    msg.shutdown_requested().dispatch(shutdown, processor)
    assert shutdown.calls == [] and sink.cold == []


def test_shard_end_flushes_history_then_checkpoints_the_end() -> None:
    sink = MemorySink()
    processor = make(sink, cold_age_s=60)
    deliver(processor, records(7))
    checkpointer = RecordingCheckpointer()
    msg.shard_ended().dispatch(checkpointer, processor)
    assert [b.ticks.height for b in sink.cold] == [7]
    assert checkpointer.calls == [(None, None)]  # no argument = SHARD_END


def test_shutdown_requested_flushes_history_and_checkpoints_its_end() -> None:
    sink = MemorySink()
    processor = make(sink, cold_age_s=300)
    deliver(processor, records(7))
    deliver(processor, records(5, start_seq=8))
    checkpointer = RecordingCheckpointer()
    msg.shutdown_requested().dispatch(checkpointer, processor)
    assert [b.ticks.height for b in sink.cold] == [12]
    assert checkpointer.calls == [("12", 0)]


def test_a_retry_spanning_two_batches_is_kept_once_in_history() -> None:
    sink = MemorySink()
    processor = make(sink, cold_age_s=300)
    first = records(3)
    deliver(processor, first)
    deliver(processor, [first[1] | {"sequenceNumber": "4"}])  # the same tick, put again
    msg.shutdown_requested().dispatch(RecordingCheckpointer(), processor)
    [flushed] = sink.cold
    assert flushed.ticks.height == 3 and flushed.last_sequence_number == "4"


def test_checkpoint_throttling_is_retried() -> None:
    processor = make(MemorySink(), cold_age_s=0)
    checkpointer = RecordingCheckpointer(errors=["ThrottlingException", "ThrottlingException"])
    msg.process_records(records(1)).dispatch(checkpointer, processor)
    assert checkpointer.calls == [("1", 0)] * 3


def test_checkpoint_shutdown_error_means_the_lease_is_gone() -> None:
    sink = MemorySink()
    processor = make(sink, cold_age_s=0)
    checkpointer = RecordingCheckpointer(errors=["ShutdownException"])
    msg.process_records(records(1)).dispatch(checkpointer, processor)
    deliver(processor, records(5, start_seq=2))
    assert len(sink.cold) == 1 and processor.stopped


def test_invalid_state_on_checkpoint_exits() -> None:
    processor = make(MemorySink(), cold_age_s=0)
    with pytest.raises(SystemExit):
        msg.process_records(records(1)).dispatch(
            RecordingCheckpointer(errors=["InvalidStateException"]), processor
        )


def test_bad_records_become_dead_letters_and_processing_continues() -> None:
    sink = MemorySink()
    processor = make(sink, cold_age_s=0)
    duplicate = records(1)[0] | {"sequenceNumber": "4"}  # a producer retry that succeeded
    batch = [*records(2), msg.record(b"{oops", 3), duplicate]
    checkpointer = deliver(processor, batch)
    [flushed] = sink.cold
    assert flushed.ticks.height == 2  # the duplicate id is kept once
    assert [(d.rule, d.sequence_number) for d in flushed.dead_letters] == [("not_json", "3")]
    assert checkpointer.calls == [("4", 0)]


def test_nothing_is_written_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    processor = make(MemorySink(), cold_age_s=0)
    deliver(processor, [*records(3), msg.record(b"bad", 9)])
    msg.shutdown_requested().dispatch(RecordingCheckpointer(), processor)
    assert capsys.readouterr().out == ""


def test_event_time_is_judged_against_the_records_arrival_not_a_clock() -> None:
    # GIVEN ticks stamped 1 min and 6 min after their Kinesis arrival (default skew: 5 min)
    tick = ticks(1)[0]
    arrival = tick.event_time_ms - 60_000
    sink = MemorySink()
    processor = make(sink)
    deliver(
        processor,
        [msg.record(tick.encode(), 1, arrival_ms=arrival), msg.record(tick.encode(), 2, arrival)],
    )
    late = tick.event_time_ms - 6 * 60_000
    deliver(processor, [msg.record(tick.encode(), 3, late), msg.record(tick.encode(), 4, late)])
    # THEN the first two are kept (once), the other two are dead letters, on every replay
    first, second = sink.hot
    assert first.ticks.height == 1 and first.dead_letters == []
    assert second.ticks.height == 0
    assert [(d.rule, d.sequence_number) for d in second.dead_letters] == [
        ("bad_time", "3"),
        ("bad_time", "4"),
    ]


def test_the_skew_bound_is_a_setting() -> None:
    tick = ticks(1)[0]
    sink = MemorySink()
    processor = make(sink, max_future_skew_ms=0)
    deliver(processor, [msg.record(tick.encode(), 1, arrival_ms=tick.event_time_ms - 1)])
    [written] = sink.hot
    assert [d.rule for d in written.dead_letters] == ["bad_time"]


@pytest.mark.parametrize("path", ["write_hot", "write_cold"])
def test_an_unexpected_error_in_a_write_exits_instead_of_growing_the_buffer(path: str) -> None:
    class BrokenSink(MemorySink):
        def broken(self, batch: Batch) -> Batch:
            raise KeyError("a bug, not a SinkError")

    sink = BrokenSink()
    setattr(sink, path, sink.broken)
    processor = make(sink, cold_max_bytes=1)
    checkpointer = RecordingCheckpointer()
    with pytest.raises(SystemExit) as exited:
        msg.process_records(records(3)).dispatch(checkpointer, processor)
    assert exited.value.code == EXIT_SINK_FAILURE
    assert checkpointer.calls == []


def test_the_constructors_bounds_default_to_the_settings_defaults() -> None:
    # GIVEN a processor made with no bounds (as the benches make it) and the default settings
    defaults = ConsumerSettings.model_fields
    sink, clock = MemorySink(), FakeClock()
    processor = make(sink, clock)
    # WHEN a batch is buffered and the clock reaches the default age bound
    deliver(processor, records(3))
    clock.now += defaults["consumer_cold_age_ms"].default / 1000 - 0.001
    deliver(processor, records(1, start_seq=4))
    assert sink.cold == []
    clock.now += 0.001
    deliver(processor, records(1, start_seq=5))
    # THEN the history is flushed then, and the size bound is the settings' too
    assert [b.ticks.height for b in sink.cold] == [5]
    assert processor.history.max_bytes == defaults["consumer_cold_max_bytes"].default
