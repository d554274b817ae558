"""What `stockpipe dashboard` needs on AWS: its own subscription to the alerts topic (an
encrypted queue, so it takes no one else's messages) and a read-only managed policy to attach
to the user or role that runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs

from common.history_tables import TICKS_TABLE
from deploy import policies

if TYPE_CHECKING:
    from deploy.data_stack import DataStack


def add_dashboard_access(stack: DataStack) -> tuple[sqs.Queue, iam.ManagedPolicy]:
    queue = sqs.Queue(
        stack,
        "DashboardAlerts",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=stack.key,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(1),
    )
    stack.alerts_topic.add_subscription(subscriptions.SqsSubscription(queue))
    database = stack.glue_database.ref
    glue = f"arn:{stack.partition}:glue:{stack.region}:{stack.account}"
    policy = iam.ManagedPolicy(
        stack,
        "DashboardReadPolicy",
        description="stockpipe dashboard: read-only access to the pipeline's stores",
        statements=policies.read_dashboard(
            ticks=stack.ticks_table,
            state=stack.state_table,
            leases=stack.lease_table,
            stream=stack.stream,
            bucket=stack.bucket,
            queue=queue,
            key=stack.key,
            athena_workgroup_arn=(
                f"arn:{stack.partition}:athena:{stack.region}:{stack.account}"
                f":workgroup/{stack.workgroup.ref}"
            ),
            glue_arns=[
                f"{glue}:catalog",
                f"{glue}:database/{database}",
                f"{glue}:table/{database}/{TICKS_TABLE}",  # the history chart's one table
            ],
        ),
    )
    return queue, policy
