"""Handler pieces that need no AWS: settings to engine config, metrics documents."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest

from common.settings import TrendSettings
from lambdas.trend import metrics
from lambdas.trend.engine import TickIn, TrendConfig
from lambdas.trend.handler import (
    ConfigurationError,
    TrendProcessor,
    _tick_from_record,
    engine_config,
)
from tests.stream_events import stream_record


def test_the_handler_runs_the_engine_with_every_trend_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the Lambda's environment, as the CDK app and compose file render it
    for name, value in {
        "STOCKPIPE_TREND_BAR": "1d",
        "STOCKPIPE_TREND_FAST": "3",
        "STOCKPIPE_TREND_SLOW": "50",
        "STOCKPIPE_TREND_ALLOWED_LATENESS": "2h",
        "STOCKPIPE_TREND_HYSTERESIS": "0.01",
        "STOCKPIPE_TREND_COOLDOWN_BARS": "2",
        "STOCKPIPE_TREND_WATERMARK_JUMP": "3d",
        "STOCKPIPE_TREND_WATERMARK_CONFIRMATIONS": "5",
    }.items():
        monkeypatch.setenv(name, value)
    # THEN the engine runs with every one of them
    assert engine_config(TrendSettings()) == TrendConfig(
        bar_ms=86_400_000,
        fast=3,
        slow=50,
        allowed_lateness_ms=7_200_000,
        hysteresis=0.01,
        cooldown_bars=2,
        max_jump_ms=3 * 86_400_000,
        confirmations=5,
    )


def test_a_handler_without_a_topic_fails_with_the_variable_to_set() -> None:
    with pytest.raises(ConfigurationError, match=r"^STOCKPIPE_ALERTS_TOPIC_ARN is not set$"):
        TrendProcessor(TrendSettings(), dynamodb=None, sns=None)


def test_metrics_lines_are_raw_emf_documents_in_lambda(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "trend")
    monkeypatch.setattr(metrics.log, "handlers", [])
    metrics.configure()
    metrics.log.addHandler(caplog.handler)
    with caplog.at_level(logging.INFO, logger="stockpipe.metrics"):
        metrics.emit({"Ticks": 5, "Alerts": 1}, dimensions={"Function": "trend"})
    [line] = [r.getMessage() for r in caplog.records if r.name == "stockpipe.metrics"]
    emf = json.loads(line)
    spec = emf["_aws"]["CloudWatchMetrics"][0]
    assert spec["Namespace"] == "stockpipe" and spec["Dimensions"] == [["Function"]]
    assert {m["Name"] for m in spec["Metrics"]} == {"Ticks", "Alerts"}
    assert (emf["Ticks"], emf["Alerts"], emf["Function"]) == (5, 1, "trend")


def test_an_event_without_records_is_an_empty_batch() -> None:
    # a test invocation from the console sends {}: nothing to read, nothing to report
    processor = TrendProcessor(TrendSettings(alerts_topic_arn="arn:topic"), dynamodb=None, sns=None)
    assert processor.process({}) == {"batchItemFailures": []}
    assert processor.process({"Records": []}) == {"batchItemFailures": []}


def test_a_tick_at_the_epoch_with_no_volume_is_a_tick_not_poison() -> None:
    # zero is a valid event time (the contract's floor) and a valid volume (a quote, no trade)
    tick = TickIn("z", 0, Decimal("1.5"), 0)
    assert _tick_from_record(stream_record("AAPL", tick, 1)) == ("AAPL", tick)
