"""Least-privilege statements, written out action by action.

CDK's `grant_*` helpers add wildcard actions (`kms:GenerateDataKey*`, `s3:Abort*`, ...); these
name exactly the calls the code makes (listed in docs/deploy.md), on exactly one resource each.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs


def statement(actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=actions, resources=resources)


def produce(stream: kinesis.IStream, key: kms.IKey) -> list[iam.PolicyStatement]:
    """producer/publisher.py: existence check, then PutRecords (SSE-KMS needs a data key)."""
    return [
        statement(
            ["kinesis:DescribeStreamSummary", "kinesis:PutRecords"],
            [stream.stream_arn],
        ),
        statement(["kms:GenerateDataKey"], [key.key_arn]),
    ]


def consume(
    stream: kinesis.IStream,
    leases: dynamodb.ITable,
    ticks: dynamodb.ITable,
    bucket: s3.IBucket,
    key: kms.IKey,
) -> list[iam.PolicyStatement]:
    """The KCL 2.5 daemon (polling retrieval, metrics off) and consumer/sinks.py.

    KCL 2.5.8 calls DescribeStreamSummary and the stream-consumer APIs only for enhanced
    fan-out, and DeleteItem on leases of shards that ended (after a reshard); docs/kcl.md."""
    return [
        statement(
            ["kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"],
            [stream.stream_arn],
        ),
        # leases: the table exists (this stack made it), so no CreateTable
        statement(
            [
                "dynamodb:DescribeTable",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Scan",
            ],
            [leases.table_arn],
        ),
        # ticks in batches of 25, the per-symbol latest quote as a conditional update
        statement(["dynamodb:BatchWriteItem", "dynamodb:UpdateItem"], [ticks.table_arn]),
        statement(
            ["s3:PutObject"],
            [bucket.arn_for_objects("ticks/*"), bucket.arn_for_objects("dead-letter/*")],
        ),
        statement(["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [key.key_arn]),
    ]


def trend(state: dynamodb.ITable, topic: sns.ITopic, key: kms.IKey) -> list[iam.PolicyStatement]:
    """lambdas/trend: state reads and conditional writes, alert publishing (KMS topic)."""
    return [
        statement(["dynamodb:GetItem", "dynamodb:PutItem"], [state.table_arn]),
        statement(["sns:Publish"], [topic.topic_arn]),
        statement(["kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn]),
    ]


def send_failures(queue: sqs.IQueue, key: kms.IKey) -> list[iam.PolicyStatement]:
    """The event source mapping, as the function's role, parks records that kept failing."""
    return [
        statement(["sqs:SendMessage", "sqs:GetQueueAttributes"], [queue.queue_arn]),
        statement(["kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn]),
    ]


def write_logs(log_group_arn: str) -> iam.PolicyStatement:
    """A log group's `Arn` attribute already ends in `:*` (its streams)."""
    return statement(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group_arn])


def read_dashboard(
    *,
    ticks: dynamodb.ITable,
    state: dynamodb.ITable,
    leases: dynamodb.ITable,
    stream: kinesis.IStream,
    bucket: s3.IBucket,
    queue: sqs.IQueue,
    key: kms.IKey,
    athena_workgroup_arn: str,
    glue_arns: list[str],
) -> list[iam.PolicyStatement]:
    """stockpipe/dashboard/source.py and its history queries (stockpipe/history/athena.py).

    Reads only, by key: Query one symbol's ticks, GetItem trend state and shard leases,
    ListShards. The one delete is of messages on the dashboard's own alerts queue; the one
    put is Athena's result file, written as the caller under athena-results/."""
    return [
        statement(["dynamodb:Query"], [ticks.table_arn]),
        statement(["dynamodb:GetItem"], [state.table_arn, leases.table_arn]),
        statement(["kinesis:ListShards"], [stream.stream_arn]),
        statement(
            ["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"], [queue.queue_arn]
        ),
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={
                "StringLike": {"s3:prefix": ["ticks/*", "dead-letter/*", "athena-results/*"]}
            },
        ),
        statement(["s3:GetBucketLocation"], [bucket.bucket_arn]),
        statement(
            ["s3:GetObject"],
            [
                bucket.arn_for_objects("ticks/*"),
                bucket.arn_for_objects("dead-letter/*"),
                bucket.arn_for_objects("athena-results/*"),
            ],
        ),
        statement(["s3:PutObject"], [bucket.arn_for_objects("athena-results/*")]),
        statement(
            ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"],
            [athena_workgroup_arn],
        ),
        statement(["glue:GetDatabase", "glue:GetTable"], glue_arns),
        statement(["kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn]),
    ]
