"""A deployed stack as the CLI sees it: CloudFormation outputs mapped to STOCKPIPE_* settings,
and a teardown that empties the history bucket first (CloudFormation cannot delete a bucket
that holds objects, and a versioned one holds old versions too)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, WaiterError

# data stack output -> Settings environment variable
DATA_OUTPUTS = {
    "StreamName": "STOCKPIPE_STREAM_NAME",
    "BucketName": "STOCKPIPE_BUCKET",
    "TicksTableName": "STOCKPIPE_TICKS_TABLE",
    "TrendStateTableName": "STOCKPIPE_TREND_STATE_TABLE",
    "ConsumerApplication": "STOCKPIPE_CONSUMER_APPLICATION",
    "GlueDatabase": "STOCKPIPE_GLUE_DATABASE",
    "AthenaWorkGroup": "STOCKPIPE_ATHENA_WORKGROUP",
    "DashboardQueueName": "STOCKPIPE_DASHBOARD_QUEUE",
}


class DeploymentNotFound(LookupError):
    """The stack is not deployed (in this account and region)."""


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


def teardown(
    deployment: Deployment,
    *,
    cloudformation: Any,
    s3: Any,
    progress: Callable[[str], None],
) -> None:
    """Compute first (it imports the data stack's exports), then the emptied data stack."""
    try:
        bucket = stack_outputs(cloudformation, deployment.data_stack).get("BucketName")
    except DeploymentNotFound:
        bucket = None
    for stack in (deployment.compute_stack, deployment.data_stack):
        if stack == deployment.data_stack and bucket:
            progress(f"emptying s3://{bucket} ({empty_bucket(s3, bucket)} object versions)")
        progress(f"deleting stack {stack}")
        cloudformation.delete_stack(StackName=stack)
        try:
            cloudformation.get_waiter("stack_delete_complete").wait(
                StackName=stack, WaiterConfig={"Delay": 10, "MaxAttempts": 180}
            )
        except WaiterError as e:
            raise RuntimeError(f"deleting {stack} failed: {e}; see its events") from e
        progress(f"deleted {stack}")
