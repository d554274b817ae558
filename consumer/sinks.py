"""Destinations: S3 objects, DynamoDB items. They only move bytes and items; `encode` makes them.

Every write is idempotent (fixed keys), retried with back-off where AWS reports partial
failure, and raises SinkError when it cannot be made durable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from common import tables
from common.retry import Retry, RetryPolicy
from consumer import encode
from consumer.batch import Batch

log = logging.getLogger(__name__)

BATCH_WRITE_LIMIT = 25  # DynamoDB's limit; the emulator does not enforce it, so we do
# first wait up to 0.1 s, doubling to 2 s, full jitter
WRITE_RETRY = RetryPolicy(max_attempts=8, base_s=0.1, cap_s=2.0)


class SinkError(RuntimeError):
    """A write that could not be made durable; the batch must not be checkpointed."""


class BatchSink(Protocol):
    """The two paths of docs/consumer.md: `write_hot` per GetRecords batch, `write_cold` per
    history flush. `write_hot` returns what history keeps: the batch, minus any record the
    hot store refused, which it moves to the batch's dead letters (poison isolation)."""

    def write_hot(self, batch: Batch) -> Batch: ...

    def write_cold(self, batch: Batch) -> None: ...


class S3Objects:
    """PUTs whole objects; a PUT to an existing key replaces it atomically."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType=content_type
            )
        except (ClientError, BotoCoreError) as e:
            raise SinkError(f"S3 put of s3://{self._bucket}/{key} failed: {e}") from e


class DynamoTicks:
    """BatchWriteItem in chunks of 25; retries only UnprocessedItems, with jittered back-off."""

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        max_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table
        self._retry = Retry(replace(WRITE_RETRY, max_attempts=max_attempts), sleep=sleep)

    def put_items(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            self._write_chunk(items[start : start + BATCH_WRITE_LIMIT])

    def _write_chunk(self, items: list[dict[str, Any]]) -> None:
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in items]
        for _attempt in self._retry.attempts():
            try:
                response = self._client.batch_write_item(RequestItems={self._table: requests})
            except ClientError as e:
                code = e.response["Error"]["Code"]
                if code not in (
                    "ProvisionedThroughputExceededException",
                    "ThrottlingException",
                    "RequestLimitExceeded",
                    "InternalServerError",
                ):
                    raise SinkError(f"BatchWriteItem to {self._table} failed: {e}") from e
            except BotoCoreError as e:
                log.warning("BatchWriteItem to %s failed (%s); retrying", self._table, e)
            else:
                requests = response.get("UnprocessedItems", {}).get(self._table, [])
                if not requests:
                    return
        raise SinkError(
            f"{len(requests)} item(s) still unprocessed by {self._table} "
            f"after {self._retry.policy.max_attempts} attempts"
        )

    def update_latest(self, symbol: str, event_time_ms: int, price: float, tick_id: str) -> None:
        """The per-symbol latest-quote item; an older (replayed or late) tick never wins."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=tables.latest_quote_key(symbol),
                UpdateExpression="SET event_time_ms = :t, price = :p, id = :i",
                ConditionExpression="attribute_not_exists(event_time_ms) OR event_time_ms < :t",
                ExpressionAttributeValues={
                    ":t": {"N": str(event_time_ms)},
                    ":p": {"N": repr(price)},
                    ":i": {"S": tick_id},
                },
            )
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return
            raise SinkError(f"latest-quote update for {symbol} failed: {e}") from e
        except BotoCoreError as e:
            raise SinkError(f"latest-quote update for {symbol} failed: {e}") from e


class AwsBatchSink:
    """Hot: ticks and latest quotes to DynamoDB. Cold: history Parquet and dead letters to S3."""

    def __init__(self, s3: S3Objects, dynamo: DynamoTicks, *, ttl_days: int) -> None:
        self._s3 = s3
        self._dynamo = dynamo
        self._ttl_days = ttl_days

    def write_hot(self, batch: Batch) -> Batch:
        if not batch.ticks.is_empty():
            self._dynamo.put_items(encode.dynamodb_items(batch, ttl_days=self._ttl_days))
            for symbol, ts, price, tick_id in encode.latest_quotes(batch):
                self._dynamo.update_latest(symbol, ts, price, tick_id)
        return batch

    def write_cold(self, batch: Batch) -> None:
        for key, body in encode.dead_letter_objects(batch):
            self._s3.put(key, body, "application/x-ndjson")
        if batch.ticks.is_empty():
            return
        for key, body in encode.parquet_objects(batch):
            self._s3.put(key, body, "application/vnd.apache.parquet")

    def write(self, batch: Batch) -> None:
        """Both paths at once (loading history outside the consumer)."""
        self.write_cold(self.write_hot(batch))
