"""Create the pipeline's resources, idempotently, in whatever AWS the clients point at.

Used by the embedded stack and the compose init container; production uses deploy/ instead.
Running it twice changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from common import aws, history_tables, layout, tables
from common.settings import Settings

log = logging.getLogger(__name__)

ClientFactory = Callable[[str], Any]


@dataclass(frozen=True)
class Resources:
    """Identifiers of what `provision` created or found."""

    stream_arn: str
    bucket: str
    ticks_table: str
    ticks_table_stream_arn: str
    alerts_topic_arn: str
    alerts_queue_url: str
    glue_database: str
    trend_state_table: str


def provision(settings: Settings, clients: ClientFactory | None = None) -> Resources:
    """Make sure every resource exists; returns their identifiers."""
    make = clients or (lambda service: aws.client(service, region=settings.region))
    stream_arn = _stream(make("kinesis"), settings.stream_name, settings.shard_count)
    _bucket(make("s3"), settings.bucket)
    table_stream = _ticks_table(make("dynamodb"), settings.ticks_table)
    _state_table(make("dynamodb"), settings.trend_state_table)
    topic_arn, queue_url = _alerts(make("sns"), make("sqs"), settings)
    _glue_database(make("glue"), settings.glue_database, settings.bucket)
    _athena_workgroup(make("athena"), settings)
    log.info(
        "resources ready: stream %s, bucket %s, table %s",
        settings.stream_name,
        settings.bucket,
        settings.ticks_table,
    )
    return Resources(
        stream_arn,
        settings.bucket,
        settings.ticks_table,
        table_stream,
        topic_arn,
        queue_url,
        settings.glue_database,
        settings.trend_state_table,
    )


def _error_code(e: ClientError) -> str:
    return str(e.response["Error"]["Code"])


def _stream(kinesis: Any, name: str, shards: int) -> str:
    try:
        kinesis.create_stream(StreamName=name, ShardCount=shards)
    except ClientError as e:
        if _error_code(e) != "ResourceInUseException":
            raise
    for _ in range(120):
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return str(summary["StreamARN"])
        time.sleep(0.5)
    raise TimeoutError(f"stream {name} did not become ACTIVE")


def _bucket(s3: Any, name: str) -> None:
    region = s3.meta.region_name
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    except ClientError as e:
        if _error_code(e) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def _ticks_table(dynamodb: Any, name: str) -> str:
    try:
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": tables.PARTITION_KEY, "AttributeType": "S"},
                {"AttributeName": tables.SORT_KEY, "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": tables.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": tables.SORT_KEY, "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            SSESpecification={"Enabled": True},
        )
        dynamodb.get_waiter("table_exists").wait(TableName=name)
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": tables.TTL_ATTRIBUTE},
        )
    except ClientError as e:
        if _error_code(e) != "ResourceInUseException":
            raise
    return str(dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"])


def _state_table(dynamodb: Any, name: str) -> None:
    """Per-symbol trend state (bars, indicators, last signal, alert outbox)."""
    try:
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "symbol", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "symbol", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True},
        )
    except ClientError as e:
        if _error_code(e) != "ResourceInUseException":
            raise


def _athena_workgroup(athena: Any, settings: Settings) -> None:
    """Results under the history bucket; a per-query scan limit guards against runaway cost."""
    output = layout.athena_output(settings.bucket, settings.athena_output)
    try:
        athena.create_work_group(
            Name=settings.athena_workgroup,
            Configuration={
                "ResultConfiguration": {"OutputLocation": output},
                "EnforceWorkGroupConfiguration": True,
                "BytesScannedCutoffPerQuery": 10 * 1024**3,
            },
            Description="stockpipe history queries",
        )
    except ClientError as e:
        if _error_code(e) != "InvalidRequestException":
            raise


def _alerts(sns: Any, sqs: Any, settings: Settings) -> tuple[str, str]:
    """The alerts topic, and local queues subscribed to it so alerts can be read back (the
    CLI's, and the dashboard's own so neither takes the other's messages)."""
    topic_arn = str(sns.create_topic(Name=settings.alerts_topic)["TopicArn"])
    _subscribed_queue(sns, sqs, topic_arn, settings.dashboard_queue)
    return topic_arn, _subscribed_queue(sns, sqs, topic_arn, settings.alerts_queue)


def _subscribed_queue(sns: Any, sqs: Any, topic_arn: str, name: str) -> str:
    queue_url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
    )
    return queue_url


def _glue_database(glue: Any, name: str, bucket: str) -> None:
    """The database and its history tables (partition projection: no crawler needed)."""
    try:
        glue.create_database(DatabaseInput={"Name": name, "Description": "stockpipe tick history"})
    except ClientError as e:
        if _error_code(e) != "AlreadyExistsException":
            raise
    for table in history_tables.table_inputs(bucket):
        try:
            glue.create_table(DatabaseName=name, TableInput=table)
        except ClientError as e:
            if _error_code(e) != "AlreadyExistsException":
                raise
            glue.update_table(DatabaseName=name, TableInput=table)
