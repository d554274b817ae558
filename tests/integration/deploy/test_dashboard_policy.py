"""The dashboard under its deploy/ policy alone, in an emulator that enforces IAM.

GIVEN the data stack created from the app's template (the dashboard's queue subscribed to the
alerts topic, `DashboardReadPolicy`), ticks, history, a dead letter, trend state and an alert
stored as the pipeline stores them, and a role with only that managed policy
WHEN the dashboard reads everything it shows with the role's credentials
THEN every read works, and a table scan, a tick write and a history write are refused.
Athena is not emulated: the history read here goes through the local engine (S3 reads).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from common import aws, tables
from common.settings import Settings
from common.tick import make_tick
from consumer.app import make_sink
from consumer.batch import InRecord, PriceMemory, build_batch
from lambdas.trend.alerts import to_alert
from lambdas.trend.engine import SymbolState, TickIn, TrendConfig, apply
from lambdas.trend.state_store import StateStore, Stored
from stockpipe import alerts_feed
from stockpipe.dashboard.history import day_bars
from stockpipe.dashboard.live import Dashboard
from stockpipe.dashboard.source import PipelineSource
from stockpipe.deployment import settings_env
from stockpipe.emulator import Emulator
from tests.deployed_roles import administrator, enforce_iam
from tests.deployed_stack import ACCOUNT, deploy_data_stack

ATHENA = {  # the history query on AWS: Athena reads the Glue table, writes its result file
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "glue:GetDatabase",
    "glue:GetTable",
    "s3:GetBucketLocation",
    "s3:PutObject",
}


@pytest.fixture
def iam_emulator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """An emulator of its own that matches resources too (tests.iam_emulator_app)."""
    monkeypatch.setenv("STOCKPIPE_IAM_LOG", str(tmp_path / "authorizations.jsonl"))
    with Emulator(app="tests.iam_emulator_app:app", log_path=tmp_path / "emu.log") as emu:
        monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint)
        yield emu.endpoint


def store_a_minute_of_pipeline_output(settings: Settings, topic_arn: str) -> str:
    """What the consumer and the trend handler store for 40 minutes of AAPL; returns the day."""
    now_ms = int(time.time() * 1000)
    start = now_ms - now_ms % 60_000 - 40 * 60_000
    ticks = [
        make_tick(
            symbol="AAPL",
            event_time_ms=start + i * 30_000,
            price=100 + (i % 7),
            volume=10,
            source="synthetic",
        )
        for i in range(80)
    ]
    records = [
        InRecord(t.encode(), str(i + 1), 0, t.event_time_ms + 100, t.symbol)
        for i, t in enumerate(ticks)
    ]
    records.append(InRecord(b"{not json", "999", 0, now_ms, "AAPL"))
    batch = build_batch(records, "shardId-000000000000", PriceMemory())
    make_sink(settings).write(batch)  # both paths: DynamoDB, then Parquet and dead letters
    state = SymbolState("AAPL")
    exact = [TickIn(t.id, t.event_time_ms, Decimal(str(t.price)), t.volume) for t in ticks]
    signals = apply(state, exact, TrendConfig())
    StateStore(aws.client("dynamodb"), settings.trend_state_table).save(Stored(state))
    assert signals, "the saw-tooth prices cross"
    aws.client("sns").publish(**to_alert(signals[0]).publish_args(topic_arn))
    return datetime.fromtimestamp(ticks[-1].event_time_ms / 1000, UTC).date().isoformat()


def subscribe_as_cloudformation_would(settings: Settings, topic_arn: str) -> None:
    """The template's AWS::SNS::Subscription (tests/unit/deploy checks it): moto's
    CloudFormation creates no standalone subscription, so the test makes it."""
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=settings.dashboard_queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    assert not aws.client("sns").list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    alerts_feed.subscribe(
        aws.client("sns"), topic_arn, "sqs", arn["QueueArn"], symbols=[], signals=[]
    )


def assume_policy(policy_arn: str) -> dict[str, str]:
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="dashboard", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName="dashboard", PolicyArn=policy_arn)
    credentials = aws.client("sts").assume_role(
        RoleArn=role["Role"]["Arn"], RoleSessionName="dashboard"
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def policy_statements(policy_arn: str) -> list[dict[str, list[str]]]:
    iam = aws.client("iam")
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)
    statements = document["PolicyVersion"]["Document"]["Statement"]
    return [
        {"Action": [s["Action"]] if isinstance(s["Action"], str) else s["Action"]}
        for s in statements
    ]


def refused(call: object, **params: object) -> bool:
    try:
        call(**params)  # type: ignore[operator]
    except ClientError as e:
        return "AccessDenied" in str(e)
    return False


def test_the_dashboard_reads_all_it_shows_under_its_read_only_policy(
    iam_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = deploy_data_stack()
    for variable, value in {**settings_env(outputs), **administrator()}.items():
        monkeypatch.setenv(variable, value)
    settings = Settings()
    subscribe_as_cloudformation_would(settings, outputs["AlertsTopicArn"])
    day = store_a_minute_of_pipeline_output(settings, outputs["AlertsTopicArn"])
    role = assume_policy(outputs["DashboardPolicyArn"])
    granted = {a for s in policy_statements(outputs["DashboardPolicyArn"]) for a in s["Action"]}
    log = os.environ["STOCKPIPE_IAM_LOG"]
    enforce_iam(iam_emulator)
    for variable, value in role.items():
        monkeypatch.setenv(variable, value)

    dashboard = Dashboard(PipelineSource(settings))

    async def read_once() -> None:
        await dashboard.refresh_ticks()
        await dashboard.refresh_alerts()
        await dashboard.refresh_health()

    asyncio.run(read_once())
    assert len(dashboard.views["AAPL"].bars) == 40
    assert [a["alert"]["symbol"] for a in dashboard.alerts] == ["AAPL"]
    assert dashboard.indicators["AAPL"] and dashboard.indicators["AAPL"]["sma_slow"]
    assert dashboard.health["dead_letters"] == 1
    assert [s["checkpoint"] for s in dashboard.health["shards"]] == [None] * len(
        dashboard.health["shards"]
    )
    assert len(day_bars(settings, "AAPL", day, local=True)["bars"]) == 40

    dynamodb, s3 = aws.client("dynamodb"), aws.client("s3")
    assert refused(dynamodb.scan, TableName=settings.ticks_table)
    item = {tables.PARTITION_KEY: {"S": "AAPL"}, tables.SORT_KEY: {"S": "x"}}
    assert refused(dynamodb.put_item, TableName=settings.ticks_table, Item=item)
    assert refused(s3.put_object, Bucket=settings.bucket, Key="ticks/dt=2001-01-01/x", Body=b"")
    assert refused(
        aws.client("sqs").send_message,
        QueueUrl=aws.client("sqs").get_queue_url(QueueName=settings.dashboard_queue)["QueueUrl"],
        MessageBody="x",
    )
    # every grant was used, except those of the paths the emulator cannot run
    used = {
        action
        for caller, action, _, allowed in map(json.loads, Path(log).read_text().splitlines())
        if allowed and caller.endswith("assumed-role/dashboard/dashboard")
    }
    assert granted - used == {
        *ATHENA,  # Athena runs no SQL in the emulator: the history read was local
        "kms:Decrypt",  # the emulator encrypts without calling KMS
        "kms:GenerateDataKey",
    }
