"""Handler pieces that need no AWS: settings to engine config, metrics documents."""

from __future__ import annotations

import json
import logging

import pytest

from common.settings import TrendSettings
from lambdas.trend import metrics
from lambdas.trend.engine import TrendConfig
from lambdas.trend.handler import ConfigurationError, TrendProcessor, engine_config


def test_the_handler_runs_the_engine_with_every_trend_setting() -> None:
    settings = TrendSettings(
        trend_bar="1d",
        trend_fast=3,
        trend_slow=50,
        trend_allowed_lateness="2h",
        trend_hysteresis=0.01,
        trend_cooldown_bars=2,
    )
    assert engine_config(settings) == TrendConfig(
        bar_ms=86_400_000,
        fast=3,
        slow=50,
        allowed_lateness_ms=7_200_000,
        hysteresis=0.01,
        cooldown_bars=2,
    )


def test_a_handler_without_a_topic_fails_with_the_variable_to_set() -> None:
    with pytest.raises(ConfigurationError, match="STOCKPIPE_ALERTS_TOPIC_ARN"):
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
