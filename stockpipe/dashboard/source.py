"""Bounded reads of the pipeline's stores: every call names its key, prefix or limit.

Ticks: a Query on one symbol's partition, newest first on start, then only keys after the
last one seen. Trend state: GetItem by symbol. Alerts: the dashboard's own SQS subscription to
the alerts topic. Dead letters: one day's prefix, each object read once. Shards: ListShards,
then one GetItem per shard on the checkpoint table. AWS failures become `SourceError` with a
sentence a user can act on.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from common import aws, tables
from common.layout import DEAD_LETTER_PREFIX
from common.settings import Settings
from lambdas.trend.engine import SymbolState
from stockpipe.dashboard.contracts import FormatError, TickRow, alert_from_message, tick_from_item

log = logging.getLogger(__name__)

# what tick_from_item reads (`source` is a reserved word: #src)
TICK_ATTRIBUTES = "id, event_time_ms, price, volume, #src, ingest_lag_ms"
LOCAL_ONLY = {"ResourceNotFoundException", "AccessDeniedException"}
MISSING = {
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NoSuchBucket",
}


class SourceError(RuntimeError):
    """A read the dashboard could not make; the message says what to do."""


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Map AWS client failures to one readable SourceError."""
    try:
        yield
    except (NoCredentialsError, NoRegionError) as e:
        raise SourceError(
            f"no AWS credentials or region for {what}: configure a profile or "
            "AWS_* variables, or start `stockpipe up` ({e})"
        ) from e
    except EndpointConnectionError as e:
        raise SourceError(f"the stack is not answering ({what}): {e}") from e
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code in MISSING:
            raise SourceError(f"{what}: the resource is gone or not provisioned ({code})") from e
        raise SourceError(f"{what} failed: {code or e}") from e
    except BotoCoreError as e:
        raise SourceError(f"{what} failed: {e}") from e


@dataclass(frozen=True)
class DeadLetter:
    key: str
    rule: str
    reason: str
    arrival_ms: int


@dataclass(frozen=True)
class ShardProgress:
    shard_id: str
    checkpoint: str | None  # sequence number, SHARD_END, or None before the first


class PipelineSource:
    """The dashboard's only access to AWS; clients are made lazily from one factory."""

    def __init__(self, settings: Settings, client: Callable[[str], Any] | None = None) -> None:
        self.settings = settings
        self._make = client or (lambda service: aws.client(service, region=settings.region))
        self._clients: dict[str, Any] = {}
        self._queue_url: str | None = None
        self._dead_letters: dict[str, list[DeadLetter]] = {}

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._make(service)
        return self._clients[service]

    def ticks(self, symbol: str, *, after: str | None, limit: int) -> list[TickRow]:
        """Oldest first: the newest `limit` ticks, or (with `after`) up to `limit` after it."""
        lo = after + "\x00" if after else "0"
        with reading(f"ticks of {symbol}"):
            items = self._client("dynamodb").query(
                TableName=self.settings.ticks_table,
                KeyConditionExpression="#p = :p AND #s BETWEEN :lo AND :hi",
                ProjectionExpression=f"#p, #s, {TICK_ATTRIBUTES}",
                ExpressionAttributeNames={
                    "#p": tables.PARTITION_KEY,
                    "#s": tables.SORT_KEY,
                    "#src": "source",  # a DynamoDB reserved word
                },
                ExpressionAttributeValues={
                    ":p": {"S": symbol},
                    ":lo": {"S": lo},
                    ":hi": {"S": tables.LATEST_SORT_KEY},
                },
                ScanIndexForward=after is not None,
                Limit=limit + 1,  # the range includes the latest-quote item
            )["Items"]
        rows = [row for row in map(_tick_or_none, items) if row is not None][:limit]
        return rows if after else rows[::-1]

    def indicator_state(self, symbol: str) -> SymbolState | None:
        with reading(f"trend state of {symbol}"):
            item = (
                self._client("dynamodb")
                .get_item(TableName=self.settings.trend_state_table, Key={"symbol": {"S": symbol}})
                .get("Item")
            )
        return SymbolState.from_json_dict(orjson.loads(item["state"]["S"])) if item else None

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts delivered to the dashboard's queue since the last call (then deleted)."""
        sqs = self._client("sqs")
        with reading(f"alerts queue {self.settings.dashboard_queue}"):
            if self._queue_url is None:
                self._queue_url = sqs.get_queue_url(QueueName=self.settings.dashboard_queue)[
                    "QueueUrl"
                ]
            messages = sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            for message in messages:  # alerts are rare (one per crossover): no batch call
                sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        alerts = []
        for message in messages:
            try:
                alerts.append(alert_from_message(message["Body"]))
            except FormatError as e:
                log.warning("skipped a message on the alerts queue: %s", e)
        return alerts

    def dead_letters(self, day: str, *, max_keys: int = 1000) -> list[DeadLetter]:
        """One day's dead letters; objects already read are not read again."""
        s3 = self._client("s3")
        with reading(f"dead letters of {day}"):
            listed = s3.list_objects_v2(
                Bucket=self.settings.bucket,
                Prefix=f"{DEAD_LETTER_PREFIX}dt={day}/",
                MaxKeys=max_keys,
            ).get("Contents", [])
            letters: list[DeadLetter] = []
            for obj in listed:
                key = obj["Key"]
                if key not in self._dead_letters:
                    body = s3.get_object(Bucket=self.settings.bucket, Key=key)["Body"].read()
                    self._dead_letters[key] = _dead_letters(key, body)
                letters += self._dead_letters[key]
        return letters

    def shards(self) -> list[ShardProgress]:
        """Open and closed shards with the consumer's checkpoint (local driver or KCL)."""
        with reading(f"shards of {self.settings.stream_name}"):
            shards = self._client("kinesis").list_shards(StreamName=self.settings.stream_name)[
                "Shards"
            ]
            return [ShardProgress(s["ShardId"], self._checkpoint(s["ShardId"])) for s in shards]

    def _checkpoint(self, shard_id: str) -> str | None:
        """The KCL daemon's lease, else the local driver's checkpoint (a table that exists
        only on the local stack, and that the dashboard's AWS policy does not name)."""
        application = self.settings.consumer_application
        for table, key, attribute, absent in (
            (application, "leaseKey", "checkpoint", {"ResourceNotFoundException"}),
            (f"{application}-local-checkpoints", "shard_id", "sequence_number", LOCAL_ONLY),
        ):
            try:
                item = (
                    self._client("dynamodb")
                    .get_item(TableName=table, Key={key: {"S": shard_id}})
                    .get("Item", {})
                )
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code")
                status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if code in absent or (status == 403 and "AccessDeniedException" in absent):
                    continue
                raise
            if attribute in item:
                return str(item[attribute]["S"])
        return None


def _tick_or_none(item: dict[str, Any]) -> TickRow | None:
    try:
        return tick_from_item(item)
    except FormatError as e:
        log.warning("skipped a tick item: %s", e)
        return None


def _dead_letters(key: str, body: bytes) -> list[DeadLetter]:
    letters = []
    for line in io.BytesIO(body):
        if line.strip():
            record = orjson.loads(line)
            letters.append(
                DeadLetter(key, record["rule"], record["reason"], int(record["arrival_ms"]))
            )
    return letters
