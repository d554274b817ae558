"""The data stack's synthesized template created in the emulator's CloudFormation, and the
deployment commands (`stockpipe env`, `scale`, `teardown`) run as separate processes on it.

The emulator creates the stream, bucket, tables, topics and key from the template; it skips
Glue, Athena, bucket policies and subscriptions and ignores TTL, public access blocks and
stream encryption (the template tests assert those)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from common import aws
from tests.deployed_stack import consumer_service, deploy_data_stack

STOCKPIPE = [sys.executable, "-m", "stockpipe"]


def stockpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STOCKPIPE, *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def outputs() -> dict[str, str]:
    return deploy_data_stack()


def scalable_target(cluster: str, service: str) -> dict[str, Any]:
    (target,) = aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{cluster}/{service}"]
    )["ScalableTargets"]
    return dict(target)


def open_shards(stream: str) -> int:
    summary = aws.client("kinesis").describe_stream_summary(StreamName=stream)
    return int(summary["StreamDescriptionSummary"]["OpenShardCount"])


def test_core_resources_are_created_from_the_synthesized_template(
    outputs: dict[str, str],
) -> None:
    assert open_shards(outputs["StreamName"]) == 2
    dynamodb = aws.client("dynamodb")
    ticks = dynamodb.describe_table(TableName=outputs["TicksTableName"])["Table"]
    assert [k["AttributeName"] for k in ticks["KeySchema"]] == ["symbol", "sk"]
    assert ticks["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    leases = dynamodb.describe_table(TableName=outputs["ConsumerApplication"])["Table"]
    assert [k["AttributeName"] for k in leases["KeySchema"]] == ["leaseKey"]
    encryption = aws.client("s3").get_bucket_encryption(Bucket=outputs["BucketName"])
    (rule,) = encryption["ServerSideEncryptionConfiguration"]["Rules"]
    key_arn = rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    # the stack's own key (the emulator's DescribeKey fails on CloudFormation-made keys)
    assert key_arn in [k["KeyArn"] for k in aws.client("kms").list_keys()["Keys"]]
    topic = aws.client("sns").get_topic_attributes(TopicArn=outputs["AlertsTopicArn"])
    assert topic["Attributes"]["KmsMasterKeyId"]


def test_env_prints_exports_that_point_settings_at_the_stack(outputs: dict[str, str]) -> None:
    result = stockpipe("env")
    assert result.returncode == 0, result.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines()
    )
    assert exports["STOCKPIPE_STREAM_NAME"] == outputs["StreamName"]
    assert exports["STOCKPIPE_CONSUMER_APPLICATION"] == outputs["ConsumerApplication"]
    assert exports["STOCKPIPE_ALERTS_TOPIC"] == outputs["AlertsTopicArn"].rsplit(":", 1)[1]


def test_scale_up_reshards_in_doubling_steps_and_raises_the_consumer_cap(
    outputs: dict[str, str],
) -> None:
    cluster, service = consumer_service(tasks=2, max_tasks=2)
    result = stockpipe("scale", "--shards", "6", "--cluster", cluster, "--service", service)
    assert result.returncode == 0, result.stderr
    assert "2 -> 6 shards in 2 step(s)" in result.stderr
    assert open_shards(outputs["StreamName"]) == 6
    target = scalable_target(cluster, service)
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 6)


def test_scale_down_lowers_the_cap_and_the_running_count(outputs: dict[str, str]) -> None:
    cluster, service = consumer_service(tasks=2, max_tasks=2)
    result = stockpipe("scale", "--shards", "1", "--cluster", cluster, "--service", service)
    assert result.returncode == 0, result.stderr
    assert open_shards(outputs["StreamName"]) == 1
    assert scalable_target(cluster, service)["MaxCapacity"] == 1
    (described,) = aws.client("ecs").describe_services(cluster=cluster, services=[service])[
        "services"
    ]
    assert described["desiredCount"] == 1


def test_scale_without_a_deployment_is_one_clear_error() -> None:
    result = stockpipe("scale", "--shards", "4", "--name", "nothere")
    assert result.returncode == 2
    assert "stack nothere-data is not deployed here" in result.stderr
    assert "Traceback" not in result.stderr


def test_teardown_empties_the_versioned_bucket_and_deletes_the_stack(
    outputs: dict[str, str],
) -> None:
    s3 = aws.client("s3")
    resources = aws.client("cloudformation").list_stack_resources(StackName="stockpipe-data")
    (key,) = [
        r["PhysicalResourceId"]
        for r in resources["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::KMS::Key"
    ]
    bucket = outputs["BucketName"]
    # the template versions the bucket; the emulator's CloudFormation does not apply it
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for version in range(3):  # three versions of one key, as replays leave them
        s3.put_object(
            Bucket=bucket, Key="ticks/dt=2026-11-25/shard-1.parquet", Body=b"%d" % version
        )
    result = stockpipe("teardown", "--yes")
    assert result.returncode == 0, result.stderr
    assert "3 object versions" in result.stderr
    stacks = aws.client("cloudformation").list_stacks()["StackSummaries"]
    assert {s["StackName"]: s["StackStatus"] for s in stacks}["stockpipe-data"] == "DELETE_COMPLETE"
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket not in names
    # the key outlives the stack (retained) and teardown says what it scheduled: its
    # deletion can be cancelled, which only a key pending deletion allows (the emulator's
    # DescribeKey fails on such a key)
    assert aws.client("kms").cancel_key_deletion(KeyId=key)["KeyId"].endswith(key)
    assert f"KMS key {key} scheduled for deletion on" in result.stderr
    assert "30-day waiting period" in result.stderr
    assert "lifting the deletion protection of table" in result.stderr
