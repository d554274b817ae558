"""The record processor: buffer records, flush to the sinks, checkpoint only after a flush.

One instance per shard, driven either by the KCL MultiLangDaemon (through kclpy) or by the
local driver, through the same kclpy message types.

Failure rule: amazon-kclpy's KCLProcess catches exceptions from process_records and reports
the call as done, so raising would let a later checkpoint skip the failed records. When a
flush cannot be made durable, the processor exits the process instead (SystemExit passes
through kclpy); the daemon then exits too (MultiLangShardRecordProcessor calls System.exit),
and the shard is re-read from the last checkpoint by whichever worker takes the lease.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from amazon_kclpy.checkpoint_error import CheckpointError
from amazon_kclpy.v3 import processor

from common.retry import Retry, RetryPolicy
from common.tick import MAX_FUTURE_SKEW_MS
from consumer.batch import InRecord, PriceMemory, build_batch
from consumer.sinks import BatchSink

log = logging.getLogger(__name__)

EXIT_SINK_FAILURE = 3
EXIT_CHECKPOINT_FAILURE = 4
# checkpoint throttling: 0.5 s doubling to 2.5 s, no jitter (one writer per lease); then exit
CHECKPOINT_RETRY = RetryPolicy(max_attempts=6, base_s=0.5, cap_s=2.5, jitter=False)


class TickProcessor(processor.RecordProcessorBase):  # type: ignore[misc]
    """Validates, transforms and stores ticks of one shard; at-least-once, idempotent sinks."""

    def __init__(
        self,
        sink: BatchSink,
        *,
        flush_records: int = 5000,
        flush_age_s: float = 2.0,
        checkpoint_retry: RetryPolicy = CHECKPOINT_RETRY,
        max_future_skew_ms: int = MAX_FUTURE_SKEW_MS,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sink = sink
        self._flush_records = flush_records
        self._flush_age_s = flush_age_s
        self._checkpoint_retry = Retry(checkpoint_retry, sleep=sleep)
        self._monotonic = monotonic
        self._max_future_skew_ms = max_future_skew_ms
        self._memory = PriceMemory()
        self._buffer: list[InRecord] = []
        self._buffer_since = monotonic()
        self.shard_id = ""
        self.stopped = False

    def initialize(self, initialize_input: Any) -> None:
        self.shard_id = initialize_input.shard_id
        log.info("processing shard %s from %s", self.shard_id, initialize_input.sequence_number)

    def process_records(self, process_records_input: Any) -> None:
        if self.stopped:
            return
        if not self._buffer:
            self._buffer_since = self._monotonic()
        self._buffer.extend(
            InRecord(
                r.binary_data,
                r.sequence_number,
                r.sub_sequence_number or 0,
                r.timestamp_millis,
                r.partition_key,
            )
            for r in process_records_input.records
        )
        due = self._monotonic() - self._buffer_since >= self._flush_age_s
        if self._buffer and (len(self._buffer) >= self._flush_records or due):
            self._flush_and_checkpoint(process_records_input.checkpointer)

    def lease_lost(self, lease_lost_input: Any) -> None:
        """Another worker owns the shard now: drop the buffer, it will re-read from there."""
        log.info(
            "lease lost on %s; dropping %d buffered record(s)", self.shard_id, len(self._buffer)
        )
        self._buffer.clear()
        self.stopped = True

    def shard_ended(self, shard_ended_input: Any) -> None:
        """Flush, then checkpoint the shard's end so its children can start."""
        self._flush_and_checkpoint(shard_ended_input.checkpointer, at_end=True)

    def shutdown_requested(self, shutdown_requested_input: Any) -> None:
        """The worker is stopping (SIGTERM): flush and checkpoint what is buffered."""
        log.info("shutdown requested on %s; flushing and checkpointing", self.shard_id)
        self._flush_and_checkpoint(shutdown_requested_input.checkpointer)
        self.stopped = True

    def _flush_and_checkpoint(self, checkpointer: Any, *, at_end: bool = False) -> None:
        if self.stopped:
            return
        position: tuple[str, int] | None = None
        if self._buffer:
            try:
                batch = build_batch(
                    self._buffer,
                    self.shard_id,
                    self._memory,
                    max_future_skew_ms=self._max_future_skew_ms,
                )
                self._sink.write(batch)
            except Exception:  # SinkError, or a bug: never keep a buffer kclpy would grow
                log.exception(
                    "flush of %d record(s) from %s failed; exiting so the shard is "
                    "re-read from its last checkpoint",
                    len(self._buffer),
                    self.shard_id,
                )
                raise SystemExit(EXIT_SINK_FAILURE) from None
            log.debug(
                "flushed %d tick(s), %d dead letter(s) from %s",
                batch.ticks.height,
                len(batch.dead_letters),
                self.shard_id,
            )
            position = (batch.last_sequence_number, batch.last_sub_sequence_number)
            self._buffer.clear()
        if at_end:
            self._checkpoint(checkpointer, None)
        elif position is not None:
            self._checkpoint(checkpointer, position)

    def _checkpoint(self, checkpointer: Any, position: tuple[str, int] | None) -> None:
        """Retry throttling; a shutdown error means the lease is gone; anything else exits."""
        sequence, sub = position if position else (None, None)
        error = "no attempt"
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
