"""Least-privilege statements, written out action by action.

CDK's `grant_*` helpers add wildcard actions (`kms:GenerateDataKey*`, `s3:Abort*`, ...); these
name exactly the calls the code makes (listed in docs/deploy.md), on exactly one resource each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from common import layout

if TYPE_CHECKING:  # the data stack's module imports this one (dashboard access)
    from deploy.data_stack import DataStack


def statement(actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=actions, resources=resources)


def key_use(key: kms.IKey, actions: list[str], *via: str) -> iam.PolicyStatement:
    """The data key, only when one of `via` (kinesis, s3, ...) calls KMS for the role: the
    tasks never call KMS themselves, so stolen credentials cannot decrypt with it directly."""
    return iam.PolicyStatement(
        actions=actions,
        resources=[key.key_arn],
        conditions={
            "StringEquals": {
                "kms:ViaService": [f"{service}.{cdk.Aws.REGION}.amazonaws.com" for service in via]
            }
        },
    )


def produce(stream: kinesis.IStream, key: kms.IKey) -> list[iam.PolicyStatement]:
    """producer/publisher.py: existence check, then PutRecords (SSE-KMS needs a data key)."""
    return [
        statement(
            ["kinesis:DescribeStreamSummary", "kinesis:PutRecords"],
            [stream.stream_arn],
        ),
        key_use(key, ["kms:GenerateDataKey"], "kinesis"),
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
        statement(["dynamodb:Query"], [f"{leases}/index/{data.lease_owner_index}"]),
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
            [
                data.bucket.arn_for_objects(layout.object_pattern(p))
                for p in layout.HISTORY_PREFIXES
            ],
        ),
        key_use(
            data.key,
            ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            "kinesis",
            "s3",
            "dynamodb",
        ),
    ]


def trend(state: dynamodb.ITable, topic: sns.ITopic, key: kms.IKey) -> list[iam.PolicyStatement]:
    """lambdas/trend: state reads and conditional writes, alert publishing (KMS topic)."""
    return [
        statement(["dynamodb:GetItem", "dynamodb:PutItem"], [state.table_arn]),
        statement(["sns:Publish"], [topic.topic_arn]),
        key_use(key, ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "dynamodb", "sns"),
    ]


def send_failures(queue: sqs.IQueue, key: kms.IKey) -> list[iam.PolicyStatement]:
    """The event source mapping, as the function's role, parks records that kept failing."""
    return [
        statement(["sqs:SendMessage", "sqs:GetQueueAttributes"], [queue.queue_arn]),
        key_use(key, ["kms:Decrypt", "kms:GenerateDataKey"], "sqs"),
    ]


def write_logs(log_group_arn: str) -> iam.PolicyStatement:
    """A log group's `Arn` attribute already ends in `:*` (its streams)."""
    return statement(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group_arn])


def through_endpoint(
    statements: list[iam.PolicyStatement], service: str
) -> list[iam.PolicyStatement]:
    """A VPC endpoint's policy: the task roles' own statements for that service (`S3`,
    `DynamoDB`, `Kinesis`), for any principal: the endpoint reaches this stack's resources
    only, whatever credentials come through it."""
    prefix = f"{service.lower()}:"
    return [
        iam.PolicyStatement(
            principals=[iam.AnyPrincipal()], actions=s.actions, resources=s.resources
        )
        for s in statements
        if s.actions and all(a.startswith(prefix) for a in s.actions)
    ]


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
    readable = (*layout.HISTORY_PREFIXES, layout.ATHENA_RESULTS_PREFIX)
    results = layout.object_pattern(layout.ATHENA_RESULTS_PREFIX)
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
            conditions={"StringLike": {"s3:prefix": [layout.object_pattern(p) for p in readable]}},
        ),
        statement(["s3:GetBucketLocation"], [bucket.bucket_arn]),
        statement(
            ["s3:GetObject"], [bucket.arn_for_objects(layout.object_pattern(p)) for p in readable]
        ),
        statement(["s3:PutObject"], [bucket.arn_for_objects(results)]),
        statement(
            ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"],
            [athena_workgroup_arn],
        ),
        statement(["glue:GetDatabase", "glue:GetTable"], glue_arns),
        key_use(key, ["kms:Decrypt", "kms:GenerateDataKey"], "s3", "sqs", "dynamodb"),
    ]
