"""The pipeline on resources created from the deploy/ template, each component under its own
role from the compute stack's template, in an emulator that enforces IAM.

The data stack goes through the emulator's CloudFormation; the producer and the consumer run
their task commands (`python -m producer`, `python -m consumer`: the real KCL daemon, leasing
from the stack's pre-made lease table) with their task roles' credentials; the trend handler
reads the stack's ticks table stream and publishes to its topic with the function's role."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from common import aws, tables
from common.settings import Settings
from stockpipe import alerts_feed, inventory
from stockpipe.deployment import settings_env
from stockpipe.emulator import Emulator
from stockpipe.trend_local import handler_on_stream
from tests.deployed_roles import administrator, assume, enforce_iam, role_statements
from tests.deployed_stack import app_templates, deploy_data_stack
from tests.scenarios import AAPL, MSFT, expected, run_until, write_scenario
from tests.waiting import wait_for

REGION = "us-east-1"
# granted actions this run cannot use, and why
KMS = "the emulator encrypts without calling KMS (Kinesis, S3, DynamoDB, SNS)"
NOT_EXERCISED = {
    "producer": {"kms:GenerateDataKey": KMS},
    "consumer": {
        "kms:Decrypt": KMS,
        "kms:GenerateDataKey": KMS,
        "kms:DescribeKey": KMS,
        "dynamodb:DeleteItem": "used on the coordinator table (leader lock release) but not "
        "on the leases (the KCL deletes those of shards that ended: a reshard) nor on the worker "
        "metrics (rows of workers gone for staleWorkerMetricsEntryCleanupDuration, 1 day)",
    },
    "trend": {
        "kms:Decrypt": KMS,
        "kms:GenerateDataKey": KMS,
        "kms:DescribeKey": KMS,
        "dynamodb:ListStreams": "the event source mapping finds the table's stream (AWS side)",
    },
}


def as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def unused_grants(statements: dict[str, list[Any]], log: Path) -> dict[str, set[str]]:
    """component -> the granted actions it used on none of their resources, going by the
    emulator's record of what it allowed whom."""
    used: dict[tuple[str, str], set[str]] = {}
    for line in log.read_text().splitlines():
        caller, action, resource, allowed = json.loads(line)
        if allowed and ":assumed-role/" in caller:
            component = caller.split("/")[-1]  # the session name
            used.setdefault((component, action), set()).add(resource)
    return {
        component: {
            action
            for s in granted
            for action in as_list(s["Action"])
            for pattern in as_list(s["Resource"])
            if not any(fnmatchcase(r, pattern) for r in used.get((component, action), ()))
        }
        for component, granted in statements.items()
    }


def client_as(role: dict[str, str], service: str) -> Any:
    """A client signed with a role's credentials (the keys are its environment variables)."""
    session = boto3.session.Session(**{k.lower(): v for k, v in role.items()}, region_name=REGION)
    return session.client(service)


def denied(call: Any, **params: Any) -> bool:
    try:
        call(**params)
    except ClientError as e:
        return "AccessDenied" in str(e)
    return False


def alerts_inbox(sqs: Any, topic_arn: str) -> str:
    """An SQS queue subscribed to every alert; returns its URL."""
    queue_url = str(sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    alerts_feed.subscribe(
        aws.client("sns"),
        topic_arn,
        "sqs",
        queue_arn["Attributes"]["QueueArn"],
        symbols=[],
        signals=[],
    )
    return queue_url


def trend_source(role: dict[str, str], settings: Settings, outputs: dict[str, str]) -> Any:
    """What the event source mapping and the function do, with the function's role."""
    table = aws.client("dynamodb").describe_table(TableName=settings.ticks_table)["Table"]
    return handler_on_stream(
        settings,
        outputs["AlertsTopicArn"],
        table["LatestStreamArn"],
        dynamodb=client_as(role, "dynamodb"),
        sns=client_as(role, "sns"),
        streams=client_as(role, "dynamodbstreams"),
    )


@pytest.fixture
def strict_emulator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """An emulator of its own that checks resources too, so IAM can be enforced for it alone."""
    app = "tests.iam_emulator_app:app"
    monkeypatch.setenv("STOCKPIPE_IAM_LOG", str(tmp_path / "authorizations.jsonl"))
    with Emulator(app=app, log_path=tmp_path / "emulator.log") as emulator:
        monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint)
        yield emulator.endpoint


def test_each_component_under_its_role_brings_ticks_to_alerts_exactly_once(
    strict_emulator: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN the data stack deployed from the app's template, the compute stack's three roles
    # made from its template, and the settings `stockpipe env` gives
    outputs = deploy_data_stack()
    _, compute_template = app_templates()
    exports = aws.client("cloudformation").list_exports()["Exports"]
    statements = role_statements(compute_template, {e["Name"]: e["Value"] for e in exports})
    roles = {component: assume(component, s) for component, s in statements.items()}
    for variable, value in {**settings_env(outputs), **administrator()}.items():
        monkeypatch.setenv(variable, value)
    settings = Settings()
    sqs = aws.client("sqs")
    queue_url = alerts_inbox(sqs, outputs["AlertsTopicArn"])
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - now_ms % 60_000 - 3 * 3_600_000
    write_scenario(tmp_path / "scenario.csv", start_ms)
    total = 3 * (len(AAPL) + len(MSFT))

    enforce_iam(strict_emulator)
    # the emulator now refuses an action a role lacks, or an action on another resource
    kinesis_as_producer = client_as(roles["producer"], "kinesis")
    assert denied(kinesis_as_producer.list_shards, StreamName=settings.stream_name)
    s3_as_consumer = client_as(roles["consumer"], "s3")
    assert denied(s3_as_consumer.put_object, Bucket=settings.bucket, Key="athena-results/x")
    assert denied(s3_as_consumer.get_object, Bucket=settings.bucket, Key="ticks/x")
    dynamodb_as_trend = client_as(roles["trend"], "dynamodb")  # PutItem on its state table only
    tick_item = {tables.PARTITION_KEY: {"S": "AAPL"}, tables.SORT_KEY: {"S": "x"}}
    assert denied(dynamodb_as_trend.put_item, TableName=settings.ticks_table, Item=tick_item)

    # WHEN the consumer's and the producer's task commands run with their roles
    worker = subprocess.Popen(
        [sys.executable, "-m", "consumer"],
        env={
            **os.environ,
            **roles["consumer"],
            "STOCKPIPE_KCL_SHARD_SYNC_MS": "2000",
            "STOCKPIPE_CONSUMER_COLD_AGE_MS": "300",
        },
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "consumer.log").open("wb"),
        start_new_session=True,
    )
    try:
        producer = subprocess.run(
            [sys.executable, "-m", "producer"],
            env={
                **os.environ,
                **roles["producer"],
                "STOCKPIPE_SOURCE": "replay",
                "STOCKPIPE_REPLAY_PATH": str(tmp_path / "scenario.csv"),
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert producer.returncode == 0, producer.stderr[-3000:]
        # and a writer without the producer's validation sends one malformed record
        aws.client("kinesis").put_record(
            StreamName=settings.stream_name, Data=b"{not json", PartitionKey="AAPL"
        )

        def stored() -> tuple[int, int, int]:
            dynamo = inventory.dynamodb_tick_ids(aws.client("dynamodb"), settings.ticks_table)
            history = inventory.parquet_frame(aws.client("s3"), settings.bucket, ["id"])
            dead = inventory.dead_letters(aws.client("s3"), settings.bucket)
            return len(dynamo), history.height, len(dead)

        wait_for(lambda: stored() == (total, total, 1), 150, f"{total} ticks, 1 dead letter")
        leases = aws.client("dynamodb").scan(TableName=outputs["ConsumerApplication"])
        assert sorted(i["leaseKey"]["S"] for i in leases["Items"]) == sorted(
            s["ShardId"]
            for s in aws.client("kinesis").list_shards(StreamName=settings.stream_name)["Shards"]
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
    assert code == 0, (tmp_path / "consumer.log").read_text()[-3000:]

    # THEN the trend handler, with the function's role, sends exactly the reference alerts
    want = expected(start_ms)
    got: list[dict[str, object]] = []

    def all_alerts_in() -> bool:
        got.extend(alerts_feed.receive(sqs, queue_url, wait_s=0))
        return len(got) >= len(want)

    run_until([trend_source(roles["trend"], settings, outputs)], all_alerts_in, timeout=90)
    time.sleep(1)
    got += alerts_feed.drain(sqs, queue_url)
    assert sorted((a.symbol, a.signal, a.bar_start_ms) for a in got) == want
    assert "AccessDenied" not in (tmp_path / "consumer.log").read_text()

    # AND every grant was used by the run, but those it cannot reach (NOT_EXERCISED)
    unused = unused_grants(statements, tmp_path / "authorizations.jsonl")
    assert unused == {c: set(actions) for c, actions in NOT_EXERCISED.items()}
