"""The `stockpipe` commands as a user runs them: separate processes, real emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from common import aws, failpoints, tables
from common.alerts import Alert
from common.settings import DEFAULT_SYMBOLS
from producer.sources.synthetic import SyntheticSource
from stockpipe import inventory, stream_reader
from stockpipe.cli import COMMANDS
from stockpipe.provision import Resources
from tests.unit.lambdas.trend_reference import reference_crossovers

STOCKPIPE = [sys.executable, "-m", "stockpipe"]


def run(
    args: list[str], env: dict[str, str], timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        STOCKPIPE + args, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def env_without_endpoint() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}


def demo_crossovers(ticks: int, seed: int = 7, step_ms: int = 15_000) -> int:
    """Crossovers in the demo's synthetic quotes (its defaults), from the reference: 1-minute
    closes per symbol, of the bars the trend handler closes (end + 1 min lateness <= the last
    event time)."""
    source = SyntheticSource(DEFAULT_SYMBOLS, seed=seed, step_ms=step_ms, start_ms=0, limit=ticks)
    closes: dict[str, dict[int, float]] = {}
    last_ms: dict[str, int] = {}
    for quote in source.quotes(threading.Event()):  # in event-time order per symbol
        closes.setdefault(quote.symbol, {})[quote.event_time_ms // 60_000] = quote.price
        last_ms[quote.symbol] = quote.event_time_ms
    count = 0
    for symbol, bars in closes.items():
        closed = [bars[m] for m in sorted(bars) if (m + 2) * 60_000 <= last_ms[symbol]]
        count += len(reference_crossovers(closed))
    return count


def test_demo_json_brings_up_its_own_stack_and_counts_every_tick() -> None:
    # GIVEN no endpoint configured and no stack running
    result = run(["demo", "--ticks", "2000", "--json"], env_without_endpoint())
    assert result.returncode == 0, result.stderr
    # THEN stdout is exactly one JSON object with the counts
    report = json.loads(result.stdout)
    assert result.stdout.strip().count("\n") == 0
    assert report["produced"] == report["in_stream"] == 2000
    assert report["dynamodb_rows"] == report["s3_rows"] == 2000
    assert report["dead_letters"] == 4  # the malformed records the demo sends on purpose
    assert report["alerts"] == demo_crossovers(2000) > 0
    latest = report["latest_alerts"]
    assert 0 < len(latest) <= 5 and {a["signal"] for a in latest} <= {"BUY", "SELL"}
    assert report["rejected"] == 0 and report["failed"] == 0
    assert 0 < report["lag_ms_p50"] <= report["lag_ms_p95"]


def start_up(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`stockpipe up` in the background; returns it once its endpoint is recorded."""
    state = Path(env["STOCKPIPE_STATE_DIR"]) / "stack.json"
    up = subprocess.Popen([*STOCKPIPE, "up"], env=env, stderr=log.open("a"))
    deadline = time.monotonic() + 60
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return up, json.loads(state.read_text())["endpoint"]


def test_up_is_found_by_demo_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = env_without_endpoint()
    state = Path(env["STOCKPIPE_STATE_DIR"]) / "stack.json"
    up, endpoint = start_up(env, tmp_path / "up.log")
    try:
        demo = run(["demo", "--ticks", "300", "--json"], env)
        assert demo.returncode == 0, demo.stderr
        assert json.loads(demo.stdout)["in_stream"] == 300
        again = run(["demo", "--ticks", "200", "--json", "--seed", "8"], env)
        # a second demo on the same stack counts only its own ticks
        assert json.loads(again.stdout)["dynamodb_rows"] == 200
        # the records are in the `up` stack's stream, not in a private one
        kinesis = aws.client("kinesis", endpoint_url=endpoint)
        data = list(
            stream_reader.drain(kinesis, stream_reader.iterators(kinesis, "stockpipe-ticks"))
        )
        assert len(data) == 300 + 200 + 2 * 4  # ticks of both runs and their bad records
    finally:
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=30) == 0
    assert not state.exists()


def test_produce_replays_a_file_and_rejects_bad_rows_with_reasons(
    resources: Resources, tmp_path: Path
) -> None:
    path = tmp_path / "ticks.csv"
    now_ms = int(time.time() * 1000) - 60_000
    path.write_text(
        "symbol,event_time_ms,price,volume\n"
        f"AAPL,{now_ms},229.5,100\n"
        f"AAPL,{now_ms + 1000},nan,100\n"
        f"MSFT,{now_ms + 2000},-3,100\n"
        f"MSFT,{now_ms + 3000},410.25,50\n"
    )
    result = run(["produce", "--source", "replay", "--file", str(path)], dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert "produced 2" in result.stderr and "rejected 2" in result.stderr
    assert "not finite" in result.stderr and "not positive" in result.stderr
    kinesis: Any = aws.client("kinesis")
    records = [
        orjson.loads(d)
        for d in stream_reader.drain(kinesis, stream_reader.iterators(kinesis, "stockpipe-ticks"))
    ]
    assert sorted((r["symbol"], r["price"]) for r in records) == [("AAPL", 229.5), ("MSFT", 410.25)]


def test_produce_to_a_missing_stream_fails_with_a_clear_message(aws_env: str) -> None:
    result = run(["produce", "--limit", "5", "--simulated-time"], dict(os.environ))
    assert result.returncode != 0
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [command.__name__ for command in COMMANDS])
def test_help_explains_each_command(command: str) -> None:
    result = run([command, "--help"], dict(os.environ), timeout=60)
    assert result.returncode == 0 and "Usage" in result.stdout


def wait_for_rows(n: int, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    ids: list[str] = []
    while time.monotonic() < deadline:
        ids = inventory.dynamodb_tick_ids(aws.client("dynamodb"), "stockpipe-ticks")
        if len(ids) >= n:
            break
        time.sleep(0.5)
    return ids


def test_consume_runs_the_local_driver_until_ctrl_c(resources: Resources, tmp_path: Path) -> None:
    produced = run(["produce", "--simulated-time", "--limit", "700"], dict(os.environ))
    assert produced.returncode == 0, produced.stderr
    consumer = subprocess.Popen(
        [*STOCKPIPE, "consume"], env=dict(os.environ), stderr=(tmp_path / "consume.log").open("w")
    )
    try:
        assert len(wait_for_rows(700)) == 700
    finally:
        consumer.send_signal(signal.SIGINT)
        assert consumer.wait(timeout=30) == 0
    assert "stopped after 700 record(s)" in (tmp_path / "consume.log").read_text()


def test_alerts_json_prints_each_alert_on_its_own_line(
    resources: Resources, tmp_path: Path
) -> None:
    alert = Alert("AAPL", "BUY", 5, 20, "2025-11-24T15:00:00+00:00", 1, 1.5, {"rsi_14": None})
    sns = aws.client("sns")
    # a foreign message on the topic is skipped with a warning, not fatal to the tail
    sns.publish(TopicArn=resources.alerts_topic_arn, Message="not an alert")
    sns.publish(**alert.publish_args(resources.alerts_topic_arn))
    tail = subprocess.Popen(
        [*STOCKPIPE, "alerts", "--json"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "e.log").open("w"),
        text=True,
    )
    try:
        assert tail.stdout is not None
        assert json.loads(tail.stdout.readline()) == alert.body()
    finally:
        tail.send_signal(signal.SIGINT)
        tail.wait(timeout=30)


def test_subscribe_sets_the_filter_policy(resources: Resources) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="mine")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    result = run(
        ["subscribe", "sqs", arn, "--symbol", "aapl", "--signal", "buy"],
        dict(os.environ),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    sns = aws.client("sns")
    [mine] = [s for s in sns.list_subscriptions()["Subscriptions"] if s["Endpoint"] == arn]
    attributes = sns.get_subscription_attributes(SubscriptionArn=mine["SubscriptionArn"])
    assert json.loads(attributes["Attributes"]["FilterPolicy"]) == {
        "symbol": ["AAPL"],
        "signal": ["BUY"],
    }


def test_trend_runs_the_handler_on_the_table_stream(resources: Resources, tmp_path: Path) -> None:
    dynamodb = aws.client("dynamodb")
    for i in range(5):
        tick = tables.TickItem("AAPL", f"t{i}", 1_764_000_000_000 + i * 60_000, 100.5, 10, "x")
        dynamodb.put_item(
            TableName="stockpipe-ticks",
            Item=tables.encode_tick_item(
                tick, dt="2025-11-24", ingest_lag_ms=0, expires_at_s=0, change=None, change_pct=None
            ),
        )
    trend = subprocess.Popen(
        [*STOCKPIPE, "trend"], env=dict(os.environ), stderr=(tmp_path / "trend.log").open("w")
    )
    try:
        deadline = time.monotonic() + 30
        state = None
        while state is None and time.monotonic() < deadline:
            state = dynamodb.get_item(
                TableName="stockpipe-trend-state", Key={"symbol": {"S": "AAPL"}}
            ).get("Item")
            time.sleep(0.3)
        assert state is not None and json.loads(state["state"]["S"])["bars_closed"] == 3
    finally:
        trend.send_signal(signal.SIGINT)
        assert trend.wait(timeout=30) == 0
    assert "stopped after 5 stream record(s)" in (tmp_path / "trend.log").read_text()


def test_consume_stopped_between_a_flush_and_its_checkpoint_then_restarted_stores_once(
    resources: Resources, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "STOCKPIPE_CONSUMER_COLD_AGE_MS": "100",
        "STOCKPIPE_CONSUMER_MAX_RECORDS": "200",  # many reads, so many flushes
    }
    produced = run(["produce", "--simulated-time", "--limit", "3000"], env)
    assert produced.returncode == 0, produced.stderr
    log = (tmp_path / "consume.log").open("w")
    # GIVEN a consumer stopped mid-stream: two flushes checkpointed, a third written, not
    # checkpointed (the failpoint, not a guessed moment; common/failpoints.py)
    first = subprocess.Popen(
        [*STOCKPIPE, "consume"],
        env=env | {failpoints.ENV: "consumer-after-cold-flush@3"},
        stderr=log,
    )
    assert first.wait(timeout=120) == failpoints.EXIT_CODE
    assert (
        "failpoint consumer-after-cold-flush: exiting (reached 3 time(s))"
        in (tmp_path / "consume.log").read_text()
    )
    partial = len(inventory.dynamodb_tick_ids(aws.client("dynamodb"), "stockpipe-ticks"))
    assert partial < 3000
    # WHEN it is restarted THEN every tick is stored exactly once in both stores
    second = subprocess.Popen([*STOCKPIPE, "consume"], env=env, stderr=log)
    try:
        assert len(wait_for_rows(3000)) == 3000
        time.sleep(1)
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=30)
    ids = inventory.dynamodb_tick_ids(aws.client("dynamodb"), "stockpipe-ticks")
    parquet = inventory.parquet_frame(aws.client("s3"), "stockpipe-history", ["id"])
    assert len(ids) == len(set(ids)) == 3000
    assert sorted(parquet["id"].to_list()) == sorted(ids)


def test_up_keeps_the_parquet_history_across_a_restart(tmp_path: Path) -> None:
    env = env_without_endpoint()

    def history(endpoint: str) -> list[str]:
        s3 = aws.client("s3", endpoint_url=endpoint)
        return sorted(inventory.keys(s3, "stockpipe-history", ""))

    up, endpoint = start_up(env, tmp_path / "up.log")
    try:
        assert run(["demo", "--ticks", "300", "--json"], env).returncode == 0
        before = history(endpoint)
    finally:
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=30) == 0
    assert any(k.startswith("ticks/") for k in before)
    assert any(k.startswith("dead-letter/") for k in before)
    up, endpoint = start_up(env, tmp_path / "up.log")
    try:
        assert history(endpoint) == before
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=30)


def test_query_after_demo_on_a_running_stack_returns_the_consumers_history(
    tmp_path: Path,
) -> None:
    import polars as pl

    env = env_without_endpoint()
    up, endpoint = start_up(env, tmp_path / "up.log")
    try:
        assert run(["demo", "--ticks", "1000", "--json"], env).returncode == 0
        result = run(["query", "daily-ohlc", "--symbol", "AAPL", "--format", "json"], env)
        assert result.returncode == 0, result.stderr
        rows = json.loads(result.stdout)
        history = inventory.parquet_frame(
            aws.client("s3", endpoint_url=endpoint), "stockpipe-history"
        )
        want = (
            history.filter(pl.col("symbol") == "AAPL")
            .sort("event_time_ms")
            .group_by(pl.col("event_time").dt.strftime("%Y-%m-%d").alias("day"))
            .agg(
                pl.col("price").first().alias("open"),
                pl.col("price").last().alias("close"),
                pl.len().alias("ticks"),
            )
            .sort("day")
        )
        assert [(r["day"], r["open"], r["close"], r["ticks"]) for r in rows] == want.rows()
        assert sum(r["ticks"] for r in rows) == 200  # 1000 ticks over 5 symbols
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=30)
