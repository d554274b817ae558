"""The dashboard server's data endpoints against a local stack after a demo run, and its
error answers: unknown symbol, a day without history, a stack that goes away, no credentials.

GIVEN a demo run on a fresh emulator WHEN the dashboard server runs (Starlette's TestClient,
the refresh loop live) THEN each endpoint equals what the stores and the alerts topic hold,
computed here independently from the Parquet history and the observer's SQS messages.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from starlette.testclient import TestClient

from common import aws
from stockpipe.dashboard.app import create_app
from stockpipe.dashboard.live import Dashboard
from stockpipe.dashboard.source import PipelineSource
from stockpipe.demo import DemoReport, run_demo
from stockpipe.emulator import Emulator
from stockpipe.provision import provision
from tests.dashboard_stack import DemoStack, demo_stack, minute_bars
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoStack, DemoReport]]:
    with demo_stack(tmp_path_factory.mktemp("dashboard")) as demo:
        report = run_demo(demo.settings, ticks=1000)
        demo.observe()
        yield demo, report


@pytest.fixture(scope="module")
def client(stack: tuple[DemoStack, DemoReport]) -> Iterator[TestClient]:
    demo, report = stack
    app = create_app(Dashboard(PipelineSource(demo.settings)), local=True, refresh_s=0.2)
    with TestClient(app) as test_client:

        def caught_up() -> bool:
            health = test_client.get("/api/health").json()
            return health.get("ticks_loaded") == report.dynamodb_rows and health.get(
                "alerts"
            ) == len(demo.observed)

        wait_for(caught_up, 30, "the dashboard to load the demo's ticks and alerts")
        yield test_client


def test_bars_are_the_minutes_of_the_stored_ticks(
    stack: tuple[DemoStack, DemoReport], client: TestClient
) -> None:
    demo, _ = stack
    history = demo.history()
    for symbol in demo.settings.symbols:
        bars = client.get(f"/api/bars/{symbol}").json()["bars"]
        assert bars == minute_bars(history, symbol)


def test_sma_lines_at_each_alert_bar_equal_the_alerts_indicators(
    stack: tuple[DemoStack, DemoReport], client: TestClient
) -> None:
    demo, report = stack
    assert report.alerts == len(demo.observed) > 0
    for _, alert in demo.observed:
        series = client.get(f"/api/bars/{alert['symbol']}").json()
        at = alert["bar_start_ms"] // 1000
        fast = {p["time"]: p["value"] for p in series["sma_fast"]}
        slow = {p["time"]: p["value"] for p in series["sma_slow"]}
        assert fast[at] == pytest.approx(alert["indicators"]["sma_fast"], abs=1e-6)
        assert slow[at] == pytest.approx(alert["indicators"]["sma_slow"], abs=1e-6)
        was_below = fast[at - 60] < slow[at - 60]
        assert was_below == (alert["signal"] == "BUY")


def test_alerts_are_exactly_the_published_messages_newest_first(
    stack: tuple[DemoStack, DemoReport], client: TestClient
) -> None:
    demo, _ = stack
    shown = client.get("/api/alerts").json()["alerts"]
    assert [entry["alert"] for entry in reversed(shown)] == [body for _, body in demo.observed]


def test_indicators_are_the_trend_handlers_values_at_its_last_closed_bar(
    stack: tuple[DemoStack, DemoReport], client: TestClient
) -> None:
    demo, _ = stack
    history = demo.history()
    for symbol in demo.settings.symbols:
        bars = minute_bars(history, symbol)
        watermark_s = history.filter(pl.col("symbol") == symbol)["event_time_ms"].max() // 1000 - 60  # type: ignore[operator]
        closes = [b["close"] for b in bars if b["time"] + 60 <= watermark_s]
        values = client.get(f"/api/indicators/{symbol.lower()}").json()["values"]
        assert values["sma_fast"] == pytest.approx(sum(closes[-5:]) / 5)
        assert values["sma_slow"] == pytest.approx(sum(closes[-20:]) / 20)
        assert values["bb_middle"] == pytest.approx(values["sma_slow"])
        assert values["bb_lower"] < values["bb_middle"] < values["bb_upper"]
        assert 0 <= values["rsi_14"] <= 100
        assert None not in (values["ema_12"], values["ema_26"], values["vwap"])


def test_health_matches_the_demo_summary(
    stack: tuple[DemoStack, DemoReport], client: TestClient
) -> None:
    _, report = stack
    health = client.get("/api/health").json()
    assert health["status"] == {"ok": True, "message": "live"}
    assert health["ticks_loaded"] == report.dynamodb_rows == report.produced
    assert health["dead_letters"] == report.dead_letters == 4
    assert {d["rule"] for d in health["dead_letter_reasons"]} == {
        "not_json",
        "missing_field",
        "bad_price",
        "bad_symbol",
    }
    assert health["alerts"] == report.alerts
    assert [s["shard_id"] for s in health["shards"]] == [
        "shardId-000000000000",
        "shardId-000000000001",
    ]
    assert all(s["checkpoint"] for s in health["shards"])


def test_history_gives_the_days_minute_bars_and_ohlc(
    stack: tuple[DemoStack, DemoReport], client: TestClient
) -> None:
    demo, _ = stack
    history = demo.history().filter(pl.col("symbol") == "MSFT")
    history = history.with_columns(
        pl.from_epoch("event_time_ms", time_unit="ms").dt.date().cast(pl.String).alias("day")
    )
    day = history.sort("event_time_ms")["day"][-1]
    response = client.get(f"/api/history/msft?date={day}")
    assert response.status_code == 200, response.text
    body = response.json()
    expected = minute_bars(history.filter(pl.col("day") == day), "MSFT")
    assert body["bars"] == expected
    assert body["ohlc"] == {
        "open": expected[0]["open"],
        "high": max(b["high"] for b in expected),
        "low": min(b["low"] for b in expected),
        "close": expected[-1]["close"],
        "volume": sum(b["volume"] for b in expected),
    }


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/bars/ZZZZ", 404, "unknown symbol ZZZZ; this dashboard shows AAPL"),
        ("/api/indicators/ZZZZ", 404, "unknown symbol ZZZZ"),
        ("/api/history/AAPL?date=2001-01-01", 404, "no history for AAPL on 2001-01-01"),
        ("/api/history/AAPL?date=yesterday", 400, "date 'yesterday' must be YYYY-MM-DD"),
        ("/api/history/no%20symbol?date=2001-01-01", 400, "is not a valid symbol"),
    ],
)
def test_bad_requests_get_a_message_and_the_server_keeps_answering(
    client: TestClient, path: str, status: int, message: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.get("/api/symbols").status_code == 200


def _status(client: TestClient) -> dict[str, Any]:
    return dict(client.get("/api/health").json()["status"])


def test_a_stack_that_goes_away_is_reported_and_the_server_keeps_answering(
    tmp_path: Path, stack: tuple[DemoStack, DemoReport]
) -> None:
    demo, _ = stack
    with Emulator(log_path=tmp_path / "emulator.log") as emu:
        endpoint = emu.endpoint

        def clients(service: str) -> Any:
            return aws.client(service, region="us-east-1", endpoint_url=endpoint)

        provision(demo.settings, clients)
        source = PipelineSource(demo.settings, clients)
        app = create_app(Dashboard(source), local=True, refresh_s=0.2)
        with TestClient(app) as test_client:
            wait_for(lambda: _status(test_client)["message"] == "live", 30, "a live dashboard")
            emu.stop()
            wait_for(lambda: not _status(test_client)["ok"], 60, "the dashboard to notice")
            assert "the stack is not answering" in _status(test_client)["message"]
            assert test_client.get("/api/bars/AAPL").status_code == 200
            assert test_client.get("/api/symbols").status_code == 200


def test_missing_credentials_are_reported_and_the_server_keeps_answering(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stack: tuple[DemoStack, DemoReport]
) -> None:
    demo, _ = stack
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    app = create_app(Dashboard(PipelineSource(demo.settings)), local=True, refresh_s=0.2)
    with TestClient(app) as test_client:
        wait_for(lambda: not _status(test_client)["ok"], 30, "the credentials error")
        assert "no AWS credentials" in _status(test_client)["message"]
        assert test_client.get("/api/alerts").json() == {"alerts": []}


def test_event_stream_pushes_the_current_status_first(client: TestClient) -> None:
    started = time.monotonic()
    with client.stream("GET", "/api/events") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        lines = events.iter_lines()
        assert next(lines) == "retry: 2000"
        assert next(lines) == ""
        assert next(lines) == 'data: {"type":"status","ok":true,"message":"live"}'
    assert time.monotonic() - started < 5
