from __future__ import annotations

import pytest
from pydantic import ValidationError

from common.settings import (
    ConsumerSettings,
    ProducerSettings,
    Settings,
    TrendSettings,
    parse_duration_ms,
)


def test_symbols_from_the_environment_are_split_and_upper_cased(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOCKPIPE_SYMBOLS", " aapl, msft ,,brk-b")
    assert Settings().symbols == ("AAPL", "MSFT", "BRK-B")


def test_the_lease_table_cannot_be_the_ticks_table() -> None:
    with pytest.raises(ValidationError, match="must differ from ticks_table"):
        Settings(ticks_table="x", consumer_application="x")


def test_to_env_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(stream_name="s1", shard_count=3, symbols=("A", "B"), region="eu-west-1")
    for key, value in original.to_env().items():
        monkeypatch.setenv(key, value)
    assert Settings() == original


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


# a value for every trend option that differs from its default
TREND_VALUES = {
    "STOCKPIPE_TREND_STATE_TABLE": "state-x",
    "STOCKPIPE_ALERTS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:x",
    "STOCKPIPE_TREND_BAR": "5m",
    "STOCKPIPE_TREND_FAST": "3",
    "STOCKPIPE_TREND_SLOW": "9",
    "STOCKPIPE_TREND_ALLOWED_LATENESS": "30s",
    "STOCKPIPE_TREND_HYSTERESIS": "0.002",
    "STOCKPIPE_TREND_COOLDOWN_BARS": "4",
    "STOCKPIPE_TREND_BATCH_SIZE": "50",
    "STOCKPIPE_TREND_WATERMARK_JUMP": "1h",
    "STOCKPIPE_TREND_WATERMARK_CONFIRMATIONS": "4",
    "STOCKPIPE_TREND_OUTBOX_CAP": "20",
    "STOCKPIPE_TREND_PUBLISH_LEASE": "90s",
    "STOCKPIPE_TREND_FAILURE_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/f",
    "STOCKPIPE_REGION": "eu-west-1",
    "STOCKPIPE_LOG_FORMAT": "json",
    "STOCKPIPE_LOG_LEVEL": "DEBUG",
}


def test_every_trend_option_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the test names a non-default value for every field of the trend schema
    assert set(TREND_VALUES) == set(TrendSettings.env_names())
    for key, value in TREND_VALUES.items():
        monkeypatch.setenv(key, value)
    # WHEN the Lambda's schema is parsed, THEN each value arrives and renders back unchanged
    settings = TrendSettings()
    assert settings.to_env() == TREND_VALUES
    assert (settings.bar_ms, settings.allowed_lateness_ms) == (300_000, 30_000)
    assert settings.trend_hysteresis == 0.002 and settings.trend_cooldown_bars == 4
    assert (settings.watermark_jump_ms, settings.publish_lease_ms) == (3_600_000, 90_000)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STOCKPIPE_TREND_BAR": "2m"}, "not one of"),
        ({"STOCKPIPE_TREND_FAST": "20"}, "must be below trend_slow"),
        ({"STOCKPIPE_TREND_ALLOWED_LATENESS": "soon"}, "is not like"),
        ({"STOCKPIPE_TREND_HYSTERESIS": "-0.1"}, "greater than or equal"),
        ({"STOCKPIPE_TREND_WATERMARK_JUMP": "far"}, "is not like"),
        ({"STOCKPIPE_TREND_OUTBOX_CAP": "0"}, "greater than or equal"),
    ],
)
def test_bad_trend_options_are_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match=message):
        TrendSettings()


def test_each_service_reads_only_its_own_options() -> None:
    # the union the CLI parses holds every service's schema and nothing is declared twice
    services = (ProducerSettings, ConsumerSettings, TrendSettings)
    assert all(issubclass(Settings, s) for s in services)
    assert "trend_fast" not in ConsumerSettings.model_fields
    assert "consumer_cold_age_ms" not in TrendSettings.model_fields
    assert "source" in ProducerSettings.model_fields
