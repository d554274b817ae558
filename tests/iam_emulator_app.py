"""The emulator app, with moto told which resource each request acts on (tests only).

moto checks the actions of an IAM policy for every service once IAM is enforced, but matches
the Resource element only for S3 (and SQS, IAM, STS): for the rest it asks about the resource
"*", which no statement scoped to one stream or table matches. Its responses take the
resource from a `_determine_resource` method when they have one; this module gives one to the
Kinesis, DynamoDB, DynamoDB Streams and SNS responses, and SQS GetQueueUrl, derived from
the request the way AWS authorizes it (the stream, table, topic or queue named in the call).
Serve it with `Emulator(app="tests.iam_emulator_app:app")`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.iam.access_control import IAMRequestBase
from moto.kinesis.responses import KinesisResponse
from moto.kinesis.utils import decompose_shard_iterator
from moto.sns.responses import SNSResponse
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.responses import SQSResponse

from stockpipe.emulator_app import app

ANY = "*"  # what moto asks about when the request names no single resource


def _arn(response: Any, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{response.region}:{response.current_account}:{resource}"


def _kinesis_stream(self: Any) -> str:
    if arn := self._get_param("StreamARN"):
        return str(arn)
    name = self._get_param("StreamName")
    if name is None and (iterator := self._get_param("ShardIterator")):
        name = decompose_shard_iterator(iterator)[0]  # "<stream>:<shard>:<sequence>"
    return _arn(self, "kinesis", f"stream/{name}") if name else ANY


def _dynamodb_table(self: Any) -> str:
    """The table, or for a Query/Scan of an index the index (`table/T/index/I`) as AWS does."""
    name = self._get_param("TableName")
    if name is None:
        batch = self._get_param("RequestItems") or {}
        name = next(iter(batch)) if len(batch) == 1 else None
    if name and (index := self._get_param("IndexName")):
        name = f"{name}/index/{index}"
    return _arn(self, "dynamodb", f"table/{name}") if name else ANY


def _dynamodb_stream(self: Any) -> str:
    if arn := self._get_param("StreamArn"):
        return str(arn)
    iterator = self._get_param("ShardIterator")
    return str(iterator).split("|", 1)[0] if iterator else ANY  # "<stream arn>|1|<id>"


def _sns_topic(self: Any) -> str:
    return str(self._get_param("TopicArn") or ANY)


_sqs_queue_by_url = SQSResponse._determine_resource


def _sqs_queue(self: Any) -> str:
    """moto finds the queue from QueueUrl only; GetQueueUrl names it by QueueName."""
    name = self._get_param("QueueName")
    if not name:
        return str(_sqs_queue_by_url(self))
    try:
        return str(self.sqs_backend.get_queue(name).queue_arn)
    except QueueDoesNotExist:
        return ANY


KinesisResponse._determine_resource = _kinesis_stream  # type: ignore[attr-defined]
DynamoHandler._determine_resource = _dynamodb_table  # type: ignore[attr-defined]
DynamoDBStreamsHandler._determine_resource = _dynamodb_stream  # type: ignore[attr-defined]
SNSResponse._determine_resource = _sns_topic  # type: ignore[attr-defined]
SQSResponse._determine_resource = _sqs_queue  # type: ignore[method-assign]


def _recorded(check: Any, log_path: str) -> Any:
    """Appends every authorization (caller, action, resource, allowed) to a JSON-lines file."""

    def check_action_permitted(self: Any, resource: str) -> None:
        allowed = False
        try:
            check(self, resource)
            allowed = True
        finally:
            with open(log_path, "a") as log:
                entry = [self._access_key.arn, self._action, resource, allowed]
                log.write(json.dumps(entry) + "\n")

    return check_action_permitted


if log_path := os.environ.get("STOCKPIPE_IAM_LOG"):
    IAMRequestBase.check_action_permitted = _recorded(  # type: ignore[method-assign]
        IAMRequestBase.check_action_permitted, log_path
    )

__all__ = ["app"]
