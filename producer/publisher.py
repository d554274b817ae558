"""Kinesis publisher: a bounded queue drained by one thread into PutRecords calls.

The queue is the backpressure: when Kinesis is slow or throttling, `send` blocks and the
source stops being read, so memory stays bounded. Only the entries PutRecords reports as
failed are retried, with exponential back-off and full jitter.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from common import aws
from common.retry import Retry, RetryPolicy
from common.settings import ProducerSettings
from common.tick import InvalidTick, Tick
from producer.batching import MAX_RECORDS_PER_CALL, Entry, batches

log = logging.getLogger(__name__)

_STOP = object()
# first wait up to 0.1 s, doubling to 5 s, full jitter; attempts from settings
PUT_RETRY = RetryPolicy(max_attempts=8, base_s=0.1, cap_s=5.0)


class StreamNotFound(RuntimeError):
    """The target stream does not exist (or is not visible with these credentials)."""


class PublisherClosed(RuntimeError):
    """`send` after `close`, or after the publishing thread died."""


@dataclass
class PublisherCounters:
    """Records sent (acknowledged by Kinesis), retried (entries re-sent), failed (given up)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    calls: int = 0


class KinesisPublisher:
    """Publishes ticks to one stream with partition key = symbol."""

    def __init__(
        self,
        client: Any,
        stream_name: str,
        *,
        buffer_records: int = 10_000,
        linger_s: float = 0.2,
        retry: RetryPolicy = PUT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._stream = stream_name
        self._queue: queue.Queue[object] = queue.Queue(maxsize=buffer_records)
        self._linger_s = linger_s
        self._retry = Retry(retry, sleep=sleep, random=jitter)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._closed = False
        self.counters = PublisherCounters()

    def start(self) -> KinesisPublisher:
        """Check the stream exists, then start the publishing thread."""
        try:
            self._client.describe_stream_summary(StreamName=self._stream)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ResourceNotFoundException":
                raise StreamNotFound(f"Kinesis stream {self._stream!r} does not exist") from e
            raise
        self._thread = threading.Thread(target=self._run, name="kinesis-publisher", daemon=True)
        self._thread.start()
        return self

    def send(self, tick: Tick) -> None:
        """Queue one tick; blocks while the buffer is full (backpressure).

        Raises InvalidTick (rule `unencodable`) and queues nothing when the tick cannot be
        encoded: one bad quote is the caller's to count and skip, not the end of the run.
        """
        try:
            entry = Entry(tick.encode(), tick.symbol)
        except Exception as e:
            raise InvalidTick("unencodable", f"cannot encode {tick.id}: {e}") from e
        while True:
            if self._closed or self._error is not None:
                raise PublisherClosed("publisher is closed") from self._error
            try:
                self._queue.put(entry, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self) -> PublisherCounters:
        """Flush everything queued, stop the thread, and return the final counters."""
        if not self._closed and self._thread is not None:
            self._closed = True
            while self._thread.is_alive():
                try:
                    self._queue.put(_STOP, timeout=0.5)
                    break
                except queue.Full:
                    continue
            self._thread.join()
        self._closed = True
        if self._error is not None:
            raise PublisherClosed("publishing thread failed") from self._error
        return self.counters

    def __enter__(self) -> KinesisPublisher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        try:
            stopping = False
            while not stopping:
                pending, stopping = self._collect()
                for batch in batches(pending):
                    self._put_with_retries(batch)
        except BaseException as e:  # surfaced to the caller by send/close
            log.exception("publishing thread failed")
            self._error = e

    def _collect(self) -> tuple[list[Entry], bool]:
        """Wait for a first entry, then gather more until a full call's worth or the linger."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
        pending: list[Entry] = [first]  # type: ignore[list-item]
        deadline = time.monotonic() + self._linger_s
        while len(pending) < MAX_RECORDS_PER_CALL:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if item is _STOP:
                return pending, True
            pending.append(item)  # type: ignore[arg-type]
        return pending, False

    def _put_with_retries(self, batch: list[Entry]) -> None:
        remaining = batch
        for attempt in self._retry.attempts():
            if attempt > 1:
                self.counters.retried += len(remaining)
            failed = self._put_once(remaining)
            self.counters.sent += len(remaining) - len(failed)
            if not failed:
                return
            remaining = failed
        self.counters.failed += len(remaining)
        log.error(
            "gave up on %d record(s) after %d attempts",
            len(remaining),
            self._retry.policy.max_attempts,
        )

    def _put_once(self, entries: list[Entry]) -> list[Entry]:
        """One PutRecords call; returns the entries that were not written."""
        self.counters.calls += 1
        try:
            response = self._client.put_records(
                StreamName=self._stream,
                Records=[{"Data": e.data, "PartitionKey": e.partition_key} for e in entries],
            )
        except (ClientError, BotoCoreError) as e:
            log.warning("PutRecords of %d record(s) failed: %s", len(entries), e)
            return entries
        if not response.get("FailedRecordCount"):
            return []
        failed = [e for e, r in zip(entries, response["Records"], strict=True) if "ErrorCode" in r]
        codes = {r["ErrorCode"] for r in response["Records"] if "ErrorCode" in r}
        log.info("%d of %d record(s) failed (%s); retrying", len(failed), len(entries), codes)
        return failed


def publisher_for(settings: ProducerSettings, client: Any | None = None) -> KinesisPublisher:
    """A started publisher on the configured stream with the configured limits."""
    return KinesisPublisher(
        client or aws.client("kinesis", region=settings.region),
        settings.stream_name,
        buffer_records=settings.producer_buffer_records,
        linger_s=settings.producer_linger_ms / 1000,
        retry=replace(PUT_RETRY, max_attempts=settings.producer_max_attempts),
    ).start()
