"""Destinations: S3 objects, DynamoDB items. They only move bytes and items; `encode` makes them.

Every write is idempotent (fixed keys), retried with back-off where AWS reports partial
failure, and raises SinkError when it cannot be made durable (throttling, 5xx, connection,
missing table or bucket, denied access: the process exits and the shard is re-read).
A store that refuses a record itself (DynamoDB ValidationException, a record-level S3 4xx)
is different: no retry cures it, so the offending records are isolated by bisection and
handed back with the store's message, to be dead-lettered (docs/consumer.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from common import failpoints, tables
from common.json_api import transient
from common.retry import Retry, RetryPolicy
from consumer import encode
from consumer.batch import Batch
from consumer.isolate import bisect

log = logging.getLogger(__name__)

BATCH_WRITE_LIMIT = 25  # DynamoDB's limit; the emulator does not enforce it, so we do
# first wait up to 0.1 s, doubling to 2 s, full jitter
WRITE_RETRY = RetryPolicy(max_attempts=8, base_s=0.1, cap_s=2.0)


# DynamoDB errors that blame the request's items, not the service or the configuration
DYNAMODB_ITEM_ERRORS = frozenset({"ValidationException", "SerializationException"})
DYNAMODB_RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)
# S3 4xx that blame the object, not throttling (503 SlowDown), credentials or configuration
S3_OBJECT_ERRORS = frozenset(
    {"EntityTooLarge", "EntityTooSmall", "InvalidArgument", "KeyTooLongError", "InvalidDigest"}
)


class SinkError(RuntimeError):
    """A write that could not be made durable; the batch must not be checkpointed."""


class Refused(Exception):
    """The store refused what it was given, for a reason no retry changes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Rejected = list[tuple[dict[str, Any], str]]
"""Items a store refused, each with the store's message."""


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
        """Raises Refused for an object S3 will never take, SinkError for everything else."""
        try:
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType=content_type
            )
        except ClientError as e:
            if e.response["Error"]["Code"] in S3_OBJECT_ERRORS:
                raise Refused(f"S3 refused s3://{self._bucket}/{key}: {e}") from e
            raise SinkError(f"S3 put of s3://{self._bucket}/{key} failed: {e}") from e
        except BotoCoreError as e:
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

    def put_items(self, items: list[dict[str, Any]]) -> Rejected:
        """Write every item DynamoDB accepts; return the refused ones with DynamoDB's message.

        A chunk refused with ValidationException is bisected down to the items that fail
        alone (an accepted half is written); retryable failures raise SinkError as before.
        """
        rejected: Rejected = []
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            chunk = items[start : start + BATCH_WRITE_LIMIT]
            _written, refused = bisect(chunk, self._write_chunk, fault=Refused)
            for item, error in refused:
                log.warning("%s refused an item: %s", self._table, error)
                rejected.append((item, str(error)))
        return rejected

    def _write_chunk(self, items: Sequence[dict[str, Any]]) -> None:
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in items]
        for _attempt in self._retry.attempts():
            try:
                response = self._client.batch_write_item(RequestItems={self._table: requests})
            except (ClientError, BotoCoreError) as e:
                if (
                    isinstance(e, ClientError)
                    and e.response["Error"]["Code"] in DYNAMODB_ITEM_ERRORS
                ):
                    raise Refused(e.response["Error"].get("Message") or str(e)) from e
                if not _transient(e):
                    raise SinkError(f"BatchWriteItem to {self._table} failed: {e}") from e
                log.warning("BatchWriteItem to %s failed (%s); retrying", self._table, _code(e))
            else:
                requests = response.get("UnprocessedItems", {}).get(self._table, [])
                if not requests:
                    return
        raise SinkError(
            f"{len(requests)} item(s) still unprocessed by {self._table} "
            f"after {self._retry.policy.max_attempts} attempts"
        )

    def update_latest(self, symbol: str, event_time_ms: int, price: float, tick_id: str) -> None:
        """The per-symbol latest-quote item; an older (replayed or late) tick never wins.
        Throttling, 5xx and connection failures are retried like BatchWriteItem's."""

        def update() -> None:
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
                # ConditionalCheckFailed: a newer quote is stored already, nothing to do
                if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise

        try:
            self._retry.call(
                update,
                transient=_transient,
                on_retry=lambda e: log.warning(
                    "latest-quote update for %s failed (%s); retrying", symbol, e
                ),
            )
        except (ClientError, BotoCoreError) as e:
            raise SinkError(f"latest-quote update for {symbol} failed: {e}") from e


def _transient(error: Exception) -> bool:
    """Throttling, a 5xx or a connection failure: the lean DynamoDB client retries none."""
    return transient(error, DYNAMODB_RETRYABLE)


def _code(error: ClientError | BotoCoreError) -> str:
    return error.response["Error"]["Code"] if isinstance(error, ClientError) else str(error)


class AwsBatchSink:
    """Hot: ticks and latest quotes to DynamoDB. Cold: history Parquet and dead letters to S3."""

    def __init__(self, s3: S3Objects, dynamo: DynamoTicks, *, ttl_days: int) -> None:
        self._s3 = s3
        self._dynamo = dynamo
        self._ttl_days = ttl_days

    def write_hot(self, batch: Batch) -> Batch:
        """Ticks and latest quotes to DynamoDB; the batch comes back with the rows DynamoDB
        refused (or that cannot become items) moved to its dead letters."""
        items, rejects = encode.dynamodb_items(batch, ttl_days=self._ttl_days)
        batch = batch.reject(rejects)
        refused = self._dynamo.put_items(items)
        batch = batch.reject({item["id"]["S"]: ("dynamodb_refused", msg) for item, msg in refused})
        for symbol, ts, price, tick_id in encode.latest_quotes(batch):
            self._dynamo.update_latest(symbol, ts, price, tick_id)
        return batch

    def write_cold(self, batch: Batch) -> None:
        """History Parquet, then dead letters (with the rows S3 or the encoder refused)."""
        objects, rejects = encode.parquet_objects(batch)
        for obj in objects:
            try:
                self._s3.put(obj.key, obj.body, "application/vnd.apache.parquet")
            except Refused as e:
                rejects |= dict.fromkeys(obj.ids, ("s3_refused", e.message))
        batch = batch.reject(rejects)
        failpoints.hit("consumer-after-history-parquet")
        for key, body in encode.dead_letter_objects(batch):
            self._dead_letter(key, body)

    def write(self, batch: Batch) -> None:
        """Both paths at once (loading history outside the consumer)."""
        self.write_cold(self.write_hot(batch))

    def _dead_letter(self, key: str, body: bytes) -> None:
        """The last resort may not be refused: if it is, exit and re-read (SinkError)."""
        try:
            self._s3.put(key, body, "application/x-ndjson")
        except Refused as e:
            raise SinkError(f"dead letters refused: {e}") from e
