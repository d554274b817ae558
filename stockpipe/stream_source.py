"""A local stand-in for Lambda's DynamoDB Streams event source mapping.

The emulator cannot run Lambda code without Docker, so this reads the table's stream and
calls the handler in-process with Lambda-shaped events. Like the real mapping, a response
with `batchItemFailures` makes it deliver again from the lowest failed sequence number;
after `max_attempts` the batch is dropped with an error log (the real mapping would send it
to its on-failure destination).

Configured for latency like the deployed mapping (no batching window): a poll that finds
records delivers them at once, an idle poll waits `poll_interval_s` (100 ms), and the shard
list is refreshed every `shard_refresh_s` rather than on every poll (docs/trend.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from common.retry import Retry, RetryPolicy

log = logging.getLogger(__name__)

Handler = Callable[[Mapping[str, Any], object], Mapping[str, Any]]
# re-delivery of failed records: 0.2 s, then 0.4 s, no jitter (one poller per stream)
REDELIVERY = RetryPolicy(max_attempts=3, base_s=0.2, cap_s=1.0, jitter=False)


class StreamEventSource:
    def __init__(
        self,
        streams: Any,
        stream_arn: str,
        handler: Handler,
        *,
        region: str,
        batch_size: int = 100,
        max_attempts: int = 3,
        poll_interval_s: float = 0.1,
        shard_refresh_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._streams = streams
        self._arn = stream_arn
        self._handler = handler
        self._region = region
        self._batch_size = batch_size
        self._retry = Retry(replace(REDELIVERY, max_attempts=max_attempts), sleep=sleep)
        self._poll_interval_s = poll_interval_s
        self._shard_refresh_s = shard_refresh_s
        self._monotonic = monotonic
        self._refreshed_at: float | None = None
        self._iterators: dict[str, str | None] = {}
        self.records_delivered = 0
        self.idle_polls = 0  # consecutive polls that found nothing new

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self.poll_once():
                stop.wait(self._poll_interval_s)

    def poll_once(self) -> int:
        now = self._monotonic()
        if self._refreshed_at is None or now - self._refreshed_at >= self._shard_refresh_s:
            self._discover_shards()
            self._refreshed_at = now
        delivered = 0
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            page = self._streams.get_records(ShardIterator=iterator, Limit=self._batch_size)
            if page["Records"]:
                self._deliver([self._lambda_record(r) for r in page["Records"]])
                delivered += len(page["Records"])
            self._iterators[shard_id] = page.get("NextShardIterator")
        self.records_delivered += delivered
        self.idle_polls = 0 if delivered else self.idle_polls + 1
        return delivered

    def _discover_shards(self) -> None:
        description = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]
        for shard in description["Shards"]:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        for _attempt in self._retry.attempts():
            response = self._handler({"Records": records}, None)
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            if not failed:
                return
            # an identifier that names no record of the batch fails the whole batch, as in Lambda
            first = min(
                (i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed),
                default=0,
            )
            records = records[first:]
        log.error(
            "dropping %d stream record(s) after %d attempts (from sequence %s)",
            len(records),
            self._retry.policy.max_attempts,
            records[0]["dynamodb"]["SequenceNumber"],
        )

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """boto3's shape to Lambda's: the creation time becomes epoch seconds."""
        data = dict(record["dynamodb"])
        created = data.get("ApproximateCreationDateTime")
        if created is not None:
            data["ApproximateCreationDateTime"] = created.timestamp()
        return {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": self._region,
            "dynamodb": data,
            "eventSourceARN": self._arn,
        }
