"""`docker compose up` end to end: emulator, init, producer, KCL consumer, trend runner."""

from __future__ import annotations

import subprocess
import time
from collections import Counter

from common import aws
from stockpipe import alerts_feed, inventory
from tests.docker.conftest import COMPOSE
from tests.waiting import AWS_NOT_READY, wait_for


def compose_up(
    compose_project: dict[str, str], extra_env: dict[str, str], *args: str
) -> dict[str, str]:
    """`docker-compose up -d` for the test's project; returns the environment it used."""
    env = {k: v for k, v in compose_project.items() if k != "project"} | extra_env
    up = subprocess.run(
        [*COMPOSE, "-p", compose_project["project"], "up", "-d", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert up.returncode == 0, up.stderr[-3000:]
    return env


def test_compose_stack_runs_ticks_end_to_end_and_alerts(
    compose_project: dict[str, str], host_aws: str
) -> None:
    now_ms = int(time.time() * 1000) - 400 * 15_000
    settings = {
        "STOCKPIPE_SIMULATED_TIME": "true",
        "STOCKPIPE_LIMIT": "2000",
        "STOCKPIPE_STEP_MS": "15000",
        "STOCKPIPE_START_MS": str(now_ms - now_ms % 60_000),
    }
    env = compose_up(compose_project, settings)
    alerts: list[dict[str, object]] = []

    def stored() -> int:
        return len(inventory.dynamodb_tick_ids(aws.client("dynamodb"), "stockpipe-ticks"))

    def all_stored_and_alerted() -> bool:
        sqs = aws.client("sqs")
        url = sqs.get_queue_url(QueueName="stockpipe-alerts-local")["QueueUrl"]
        alerts.extend(alerts_feed.drain(sqs, url))
        return stored() >= 2000 and bool(alerts)

    # the init service creates the table and queue a little after `up`: those errors mean "not yet"
    wait_for(
        all_stored_and_alerted, 240, "2000 ticks and an alert", tolerate=AWS_NOT_READY, interval=3
    )
    assert stored() == 2000, "not every produced tick reached DynamoDB"
    history = inventory.parquet_frame(aws.client("s3"), "stockpipe-history", ["id"])
    assert history.height == 2000
    assert alerts, "no trend alert arrived on the local SQS subscription"
    states = subprocess.run(
        [*COMPOSE, "-p", compose_project["project"], "ps"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "Exit 0" in states and "(healthy)" in states


def test_two_scaled_consumers_share_the_shard_leases(
    compose_project: dict[str, str], host_aws: str
) -> None:
    compose_up(
        compose_project,
        {"STOCKPIPE_SHARD_COUNT": "4", "STOCKPIPE_LIMIT": "1"},
        "--scale",
        "consumer=2",
    )
    owners: Counter[str] = Counter()

    def split_2_2() -> bool:
        items = aws.client("dynamodb").scan(TableName="stockpipe-consumer")["Items"]
        owners.clear()
        owners.update(item.get("leaseOwner", {}).get("S", "") for item in items)
        return sorted(owners.values()) == [2, 2]

    # no lease table until the first worker starts
    wait_for(split_2_2, 240, "a 2/2 lease split", tolerate=AWS_NOT_READY, interval=3)
