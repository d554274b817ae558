"""Least-privilege statements, written out action by action.

CDK's `grant_*` helpers add wildcard actions (`kms:GenerateDataKey*`, `s3:Abort*`, ...); these
name exactly the calls the code makes (listed in docs/deploy.md), on exactly one resource each.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from deploy.data_stack import LEASE_OWNER_INDEX, DataStack


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


# what the KCL does to its lease and coordinator state items
KCL_ITEM_ACTIONS = [
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
]


def consume(data: DataStack) -> list[iam.PolicyStatement]:
    """The KCL 3 daemon (polling retrieval, metrics off) and consumer/sinks.py.

    Its three tables exist (the data stack made them, with the lease owner index), so no
    CreateTable or UpdateTable; which call serves what is in docs/kcl.md."""
    leases = data.lease_table.table_arn
    return [
        statement(
            ["kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"],
            [data.stream.stream_arn],
        ),
        statement([*KCL_ITEM_ACTIONS, "dynamodb:Scan"], [leases]),
        statement(["dynamodb:Query"], [f"{leases}/index/{LEASE_OWNER_INDEX}"]),
        # leader lock (DynamoDB lock client) and migration state; nothing scans it
        statement(KCL_ITEM_ACTIONS, [data.coordinator_table.table_arn]),
        statement(
            [
                "dynamodb:DescribeTable",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Scan",
            ],
            [data.worker_metrics_table.table_arn],
        ),
        # ticks in batches of 25, the per-symbol latest quote as a conditional update
        statement(["dynamodb:BatchWriteItem", "dynamodb:UpdateItem"], [data.ticks_table.table_arn]),
        statement(
            ["s3:PutObject"],
            [data.bucket.arn_for_objects("ticks/*"), data.bucket.arn_for_objects("dead-letter/*")],
        ),
        statement(["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [data.key.key_arn]),
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
