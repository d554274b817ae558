"""The record processor: a hot path per GetRecords batch, a cold path per history flush.

Hot: every batch is validated and written to DynamoDB (ticks, latest quotes) at once, so the
trend handler sees a tick milliseconds after it is read. Cold: the same rows wait in a
HistoryBuffer until its size or age bound, shard end or shutdown, then become one Parquet
object per date. The checkpoint trails the cold flush: it names the last record of that
flush, which is durable in S3 and (written earlier) in DynamoDB. docs/consumer.md proves that
a replay leaves no duplicate.

One instance per shard, driven either by the KCL MultiLangDaemon (through kclpy) or by the
local driver, through the same kclpy message types.

Failure rule: amazon-kclpy's KCLProcess catches exceptions from process_records and reports
the call as done, so raising would let a later checkpoint skip the failed records. When a
write cannot be made durable, the processor exits the process instead (SystemExit passes
through kclpy); the daemon then exits too (MultiLangShardRecordProcessor calls System.exit),
and the shard is re-read from the last checkpoint by whichever worker takes the lease.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from amazon_kclpy.checkpoint_error import CheckpointError
from amazon_kclpy.v3 import processor

from common import failpoints
from common.retry import Retry, RetryPolicy
from common.tick import MAX_FUTURE_SKEW_MS
from consumer.batch import InRecord, PriceMemory, build_batch
from consumer.history_buffer import HistoryBuffer
from consumer.sinks import BatchSink

log = logging.getLogger(__name__)

EXIT_SINK_FAILURE = 3
EXIT_CHECKPOINT_FAILURE = 4
# checkpoint throttling: 0.5 s doubling to 2.5 s, no jitter (one writer per lease); then exit
CHECKPOINT_RETRY = RetryPolicy(max_attempts=6, base_s=0.5, cap_s=2.5, jitter=False)
_T = TypeVar("_T")


class TickProcessor(processor.RecordProcessorBase):  # type: ignore[misc]
    """Validates, transforms and stores ticks of one shard; at-least-once, idempotent sinks."""

    def __init__(
        self,
        sink: BatchSink,
        *,
        cold_max_bytes: int = 16 * 1024 * 1024,
        cold_age_s: float = 300.0,
        checkpoint_retry: RetryPolicy = CHECKPOINT_RETRY,
        max_future_skew_ms: int = MAX_FUTURE_SKEW_MS,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sink = sink
        self._cold_max_bytes = cold_max_bytes
        self._cold_age_s = cold_age_s
        self._checkpoint_retry = Retry(checkpoint_retry, sleep=sleep)
        self._monotonic = monotonic
        self._max_future_skew_ms = max_future_skew_ms
        self._memory = PriceMemory()
        self.history: HistoryBuffer  # made by `initialize`, which the daemon always sends first
        self.shard_id = ""
        self.stopped = False

    def initialize(self, initialize_input: Any) -> None:
        self.shard_id = initialize_input.shard_id
        self.history = HistoryBuffer(self.shard_id, self._cold_max_bytes, self._cold_age_s)
        log.info("processing shard %s from %s", self.shard_id, initialize_input.sequence_number)

    def process_records(self, process_records_input: Any) -> None:
        if self.stopped:
            return
        records = [
            InRecord(
                r.binary_data,
                r.sequence_number,
                r.sub_sequence_number or 0,
                r.timestamp_millis,
                r.partition_key,
            )
            for r in process_records_input.records
        ]
        if records:
            self._write_hot(records)
        if self.history.due(self._monotonic()):
            self._flush_cold_and_checkpoint(process_records_input.checkpointer)

    def lease_lost(self, lease_lost_input: Any) -> None:
        """Another worker owns the shard now: drop the history buffer (never flush it: the new
        owner may already be writing the same keys), it will re-read from the checkpoint."""
        log.info(
            "lease lost on %s; dropping %d buffered record(s)", self.shard_id, self.history.records
        )
        self.history.clear()
        self.stopped = True

    def shard_ended(self, shard_ended_input: Any) -> None:
        """Flush, then checkpoint the shard's end so its children can start."""
        self._flush_cold_and_checkpoint(shard_ended_input.checkpointer, at_end=True)

    def shutdown_requested(self, shutdown_requested_input: Any) -> None:
        """The worker is stopping (SIGTERM): flush history and checkpoint what is buffered."""
        log.info(
            "shutdown requested on %s; flushing %d record(s)", self.shard_id, self.history.records
        )
        self._flush_cold_and_checkpoint(shutdown_requested_input.checkpointer)
        self.stopped = True

    def _write_hot(self, records: list[InRecord]) -> None:
        kept = self._durably(
            lambda: self._sink.write_hot(
                build_batch(
                    records,
                    self.shard_id,
                    self._memory,
                    max_future_skew_ms=self._max_future_skew_ms,
                )
            ),
            "hot write",
        )
        failpoints.hit("consumer-after-hot-write")
        self.history.add(kept, len(records), self._monotonic())

    def _flush_cold_and_checkpoint(self, checkpointer: Any, *, at_end: bool = False) -> None:
        if self.stopped:
            return
        count = self.history.records
        batch = self.history.take()
        if batch is not None:
            self._durably(lambda: self._sink.write_cold(batch), "history flush")
            failpoints.hit("consumer-after-cold-flush")
            log.debug(
                "history flush of %d record(s), %d row(s), %d dead letter(s) from %s",
                count,
                batch.ticks.height,
                len(batch.dead_letters),
                self.shard_id,
            )
        if at_end:
            self._checkpoint(checkpointer, None)
        elif batch is not None:
            self._checkpoint(
                checkpointer, (batch.last_sequence_number, batch.last_sub_sequence_number)
            )

    def _durably(self, write: Callable[[], _T], what: str) -> _T:
        """Run a write; on any failure exit, never return: kclpy would swallow an exception
        and a later checkpoint would skip the records (SinkError, or a bug)."""
        try:
            return write()
        except Exception:
            log.exception(
                "%s from %s failed; exiting so the shard is re-read from its last checkpoint",
                what,
                self.shard_id,
            )
            raise SystemExit(EXIT_SINK_FAILURE) from None

    def _checkpoint(self, checkpointer: Any, position: tuple[str, int] | None) -> None:
        """Retry throttling; a shutdown error means the lease is gone; anything else exits."""
        sequence, sub = position if position else (None, None)
        for _attempt in self._checkpoint_retry.attempts():
            try:
                checkpointer.checkpoint(sequence, sub)
                return
            except CheckpointError as e:
                if e.value == "ShutdownException":
                    log.info("checkpoint refused on %s: lease lost", self.shard_id)
                    self.stopped = True
                    return
                error = e.value
                if error != "ThrottlingException":
                    break
        log.error("checkpoint on %s failed: %s", self.shard_id, error)
        raise SystemExit(EXIT_CHECKPOINT_FAILURE) from None
