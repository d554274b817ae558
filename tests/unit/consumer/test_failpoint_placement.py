"""Each consumer failpoint sits exactly where common/failpoints.py says: what the sinks hold
and what is checkpointed when a worker stops there (the crash tests rely on it)."""

from __future__ import annotations

import pytest

from common import failpoints
from consumer.batch import Batch
from consumer.sinks import AwsBatchSink
from tests.unit.consumer import kcl_messages as msg
from tests.unit.consumer.kcl_messages import RecordingCheckpointer
from tests.unit.consumer.test_processor import FakeClock, MemorySink, deliver, make, records


def test_after_hot_write_the_batch_is_hot_and_nothing_is_cold_or_checkpointed() -> None:
    sink = MemorySink()
    processor = make(sink, cold_age_s=0, cold_max_bytes=10**9)  # due at once
    with failpoints.crashing("consumer-after-hot-write"), pytest.raises(failpoints.Crash):
        deliver(processor, records(5))
    assert [b.ticks.height for b in sink.hot] == [5]
    assert (sink.cold, processor.history.records) == ([], 0)


def test_after_cold_flush_history_is_written_and_not_checkpointed() -> None:
    sink, clock = MemorySink(), FakeClock()
    processor = make(sink, clock, cold_age_s=10, cold_max_bytes=10**9)
    deliver(processor, records(5))
    clock.now += 10
    checkpointer = RecordingCheckpointer()
    with failpoints.crashing("consumer-after-cold-flush"), pytest.raises(failpoints.Crash):
        msg.process_records(records(3, start_seq=6)).dispatch(checkpointer, processor)
    assert [b.ticks.height for b in sink.cold] == [8]
    assert checkpointer.calls == []


class S3Log:
    """S3Objects' put, recorded."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.keys.append(key)


def test_after_history_parquet_the_parquet_is_in_s3_and_the_dead_letters_are_not() -> None:
    s3 = S3Log()
    sink = AwsBatchSink(s3, None, ttl_days=1)  # type: ignore[arg-type]  # cold: S3 only
    processor = make(MemorySink())
    bad = msg.record(b"not a tick", 99)
    deliver(processor, [*records(4), bad])
    batch: Batch | None = processor.history.take()
    assert batch is not None and len(batch.dead_letters) == 1
    with failpoints.crashing("consumer-after-history-parquet"), pytest.raises(failpoints.Crash):
        sink.write_cold(batch)
    assert s3.keys and all(k.startswith("ticks/") for k in s3.keys)
