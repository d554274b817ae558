"""A deployed stack as the CLI sees it: CloudFormation outputs mapped to STOCKPIPE_* settings,
and the explicit teardown. The data stack keeps its key and buckets when it is deleted or
replaced, and its tables refuse deletion, so data can never outlive its key by accident:
teardown lifts the tables' protection, deletes the stacks, then empties and deletes the
retained buckets (every object version) and schedules the key's deletion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from common import aws

# data stack output -> Settings environment variable
DATA_OUTPUTS = {
    "StreamName": "STOCKPIPE_STREAM_NAME",
    "BucketName": "STOCKPIPE_BUCKET",
    "TicksTableName": "STOCKPIPE_TICKS_TABLE",
    "TrendStateTableName": "STOCKPIPE_TREND_STATE_TABLE",
    "ConsumerApplication": "STOCKPIPE_CONSUMER_APPLICATION",
    "KclCoordinatorTableName": "STOCKPIPE_KCL_COORDINATOR_TABLE",
    "KclWorkerMetricsTableName": "STOCKPIPE_KCL_WORKER_METRICS_TABLE",
    "GlueDatabase": "STOCKPIPE_GLUE_DATABASE",
    "AthenaWorkGroup": "STOCKPIPE_ATHENA_WORKGROUP",
    "DashboardQueueName": "STOCKPIPE_DASHBOARD_QUEUE",
}


class DeploymentNotFound(LookupError):
    """The stack is not deployed (in this account and region)."""


class TeardownFailed(RuntimeError):
    """CloudFormation could not delete a stack; its events say why."""


@dataclass(frozen=True)
class Deployment:
    name: str  # the `name` context value: stacks are <name>-data and <name>-compute

    @property
    def data_stack(self) -> str:
        return f"{self.name}-data"

    @property
    def compute_stack(self) -> str:
        return f"{self.name}-compute"


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    try:
        found = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as e:
        if "does not exist" in str(e):
            raise DeploymentNotFound(
                f"stack {stack} is not deployed here (check AWS_REGION / the account)"
            ) from e
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])}


def settings_env(data_outputs: dict[str, str]) -> dict[str, str]:
    """The STOCKPIPE_* variables that point every command at the deployed data stack."""
    env = {var: data_outputs[key] for key, var in DATA_OUTPUTS.items() if key in data_outputs}
    if "AlertsTopicArn" in data_outputs:
        env["STOCKPIPE_ALERTS_TOPIC"] = data_outputs["AlertsTopicArn"].rsplit(":", 1)[-1]
    return env


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many were removed."""
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            chunk = keys[start : start + 1000]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
            removed += len(chunk)
    return removed


KEY_WAITING_DAYS = 30  # the longest AWS allows: time to notice and cancel


def data_resources(cloudformation: Any, stack: str) -> dict[str, list[str]]:
    """Resource type -> physical ids of the data stack ({} when it is not deployed)."""
    kinds: dict[str, list[str]] = {}
    try:
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
            for resource in page["StackResourceSummaries"]:
                ids = kinds.setdefault(resource["ResourceType"], [])
                ids.append(resource["PhysicalResourceId"])
    except ClientError as e:
        if "does not exist" in str(e):
            return {}
        raise
    return kinds


def delete_bucket(s3: Any, bucket: str, progress: Callable[[str], None]) -> None:
    try:
        progress(f"emptying s3://{bucket} ({empty_bucket(s3, bucket)} object versions)")
        s3.delete_bucket(Bucket=bucket)
    except ClientError as e:
        if e.response["Error"]["Code"] != "NoSuchBucket":
            raise
    progress(f"deleted s3://{bucket}")


def schedule_key_deletion(kms: Any, key_id: str, progress: Callable[[str], None]) -> None:
    try:
        when = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=KEY_WAITING_DAYS)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("NotFoundException", "KMSInvalidStateException"):
            raise
        progress(f"KMS key {key_id}: already gone or pending deletion")
        return
    progress(
        f"KMS key {key_id} scheduled for deletion on {when['DeletionDate']:%Y-%m-%d} "
        f"({KEY_WAITING_DAYS}-day waiting period; undo with "
        f"`aws kms cancel-key-deletion --key-id {key_id}`)"
    )


def teardown(
    deployment: Deployment,
    *,
    cloudformation: Any,
    s3: Any,
    progress: Callable[[str], None],
    dynamodb: Any = None,
    kms: Any = None,
) -> None:
    """Compute first (it imports the data stack's exports), then the data stack with its
    tables unprotected, then what the data stack retains: its buckets and its key."""
    dynamodb = dynamodb or aws.client("dynamodb")
    kms = kms or aws.client("kms")
    retained = data_resources(cloudformation, deployment.data_stack)
    for stack in (deployment.compute_stack, deployment.data_stack):
        if stack == deployment.data_stack:
            for table in retained.get("AWS::DynamoDB::Table", []):
                progress(f"lifting the deletion protection of table {table}")
                dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
        progress(f"deleting stack {stack}")
        cloudformation.delete_stack(StackName=stack)
        try:
            cloudformation.get_waiter("stack_delete_complete").wait(
                StackName=stack, WaiterConfig={"Delay": 10, "MaxAttempts": 180}
            )
        except WaiterError as e:
            raise TeardownFailed(f"deleting {stack} failed: {e}; see its events") from e
        progress(f"deleted {stack}")
    for bucket in retained.get("AWS::S3::Bucket", []):
        delete_bucket(s3, bucket, progress)
    for key_id in retained.get("AWS::KMS::Key", []):
        schedule_key_deletion(kms, key_id, progress)
