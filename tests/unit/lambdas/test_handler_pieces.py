"""Handler pieces that need no AWS: durations, settings, metrics documents."""

from __future__ import annotations

import json
import logging

import pytest

from lambdas.trend import metrics
from lambdas.trend.handler import HandlerSettings, parse_duration_ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30s", 30_000),
        ("1m", 60_000),
        ("5m", 300_000),
        ("1h", 3_600_000),
        ("1d", 86_400_000),
        ("250ms", 250),
    ],
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "1", "m", "1w", "-1m", "1.5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not like"):
        parse_duration_ms(text)


def test_settings_from_the_lambda_environment() -> None:
    settings = HandlerSettings.from_env(
        {
            "STOCKPIPE_ALERTS_TOPIC_ARN": "arn:x",
            "STOCKPIPE_TREND_BAR": "1d",
            "STOCKPIPE_TREND_SLOW": "50",
        }
    )
    assert settings.topic_arn == "arn:x" and settings.state_table == "stockpipe-trend-state"
    assert settings.trend.bar_ms == 86_400_000 and settings.trend.slow == 50


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
