"""GIVEN CDK context values WHEN read into a DeployConfig THEN defaults, parsing and errors."""

from __future__ import annotations

from typing import Any

import pytest

from common.settings import (
    DEFAULT_SYMBOLS,
    ConsumerSettings,
    ProducerSettings,
    TrendSettings,
)
from deploy.config import WIRED, ConfigError, DeployConfig, context_key, service_context_keys


def config(**context: Any) -> DeployConfig:
    return DeployConfig.from_context(context.get)


def test_no_context_gives_a_deployable_default() -> None:
    c = config()
    assert (c.shards, c.on_demand, c.consumer_cap) == (1, False, 1)
    assert c.producer_source == "yfinance" and c.alert_emails == ()
    assert c.trend_reserved_concurrency == 0  # a reserve fails on new accounts
    assert (c.network, c.container_insights, c.data_event_trail) == ("public", False, True)
    # the service options: the schemas' own defaults, the symbols from common/ only
    assert c.settings("producer").model_dump()["symbols"] == DEFAULT_SYMBOLS
    assert c.trend.model_dump() == TrendSettings.model_construct().model_dump()


def test_values_from_the_command_line_are_strings_and_are_parsed() -> None:
    c = config(shards="4", alertEmails="a@x.io, b@y.org", alertSymbols="aapl,msft")
    assert c.shards == 4 and c.consumer_cap == 4
    assert c.alert_emails == ("a@x.io", "b@y.org")
    assert c.alert_symbols == ("AAPL", "MSFT")


def test_values_from_cdk_json_are_lists_and_numbers() -> None:
    c = config(shards=8, alertSms=["+15551234567"], symbols=["spy", "QQQ"], trendFast=3)
    assert (c.shards, c.alert_sms) == (8, ("+15551234567",))
    assert c.settings("producer").model_dump()["symbols"] == ("SPY", "QQQ")
    assert c.trend.trend_fast == 3


def test_on_demand_caps_consumers_at_max_consumers() -> None:
    c = config(shards=0, maxConsumers=6)
    assert c.on_demand and c.consumer_cap == 6


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"shards": "two"}, "shards='two' is not a whole number"),
        ({"shards": 501}, "shards=501 is outside 0..500"),
        ({"alertEmails": "not-an-email"}, "alertEmails: 'not-an-email' is not an email"),
        ({"alertSms": "5551234"}, "alertSms: '5551234' is not an E.164 number"),
        ({"alertSymbols": "AAPL,bad symbol"}, "alertSymbols: 'BAD SYMBOL' is not a ticker"),
        ({"source": "bloomberg"}, "source='bloomberg': Input should be 'synthetic'"),
        ({"source": "replay"}, "source='replay': one of yfinance, synthetic"),
        ({"symbols": "AAPL,bad symbol"}, "symbols: 'BAD SYMBOL' is not a ticker"),
        ({"network": "vpn"}, "network='vpn': one of public, endpoints, nat"),
        ({"consumerCpu": 300}, "consumerCpu=300: one of 256, 512, 1024"),
        # service options: the schema's own rules and messages, under the context key
        ({"trendBar": "2m"}, "trendBar='2m': Value error, bar length '2m' is not one of"),
        ({"trendFast": "0"}, "trendFast='0': Input should be greater than or equal to 1"),
        ({"trendFast": 30}, "trend: Value error, trend_fast (30) must be below trend_slow"),
        ({"trendAllowedLateness": "soon"}, "trendAllowedLateness='soon': Value error, duration"),
        ({"consumerMaxRecords": 20_000}, "consumerMaxRecords=20000: Input should be less than"),
        ({"logLevel": "LOUD"}, "logLevel='LOUD': String should match pattern"),
        ({"logRetentionDays": 10}, "logRetentionDays=10: one of 1, 3, 5"),
        ({"name": "Stock_Pipe"}, "name='Stock_Pipe': lower-case letters"),
        ({"lambdaTracing": "yes"}, "lambdaTracing='yes': true or false"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        config(**context)
    assert message in str(error.value)


@pytest.mark.parametrize("schema", [ProducerSettings, ConsumerSettings, TrendSettings])
def test_every_option_of_each_service_schema_is_a_context_key(schema: Any) -> None:
    keys = set(service_context_keys())
    for name in schema.model_fields:
        assert (context_key(name) in keys) != (name in WIRED), name


def test_a_developers_own_environment_does_not_leak_into_the_synth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOCKPIPE_TREND_FAST", "2")
    monkeypatch.setenv("STOCKPIPE_SYMBOLS", "XYZ")
    c = config()
    assert c.trend.trend_fast == TrendSettings.model_fields["trend_fast"].default
    assert c.environment("producer")["STOCKPIPE_SYMBOLS"] == ",".join(DEFAULT_SYMBOLS)


def test_wired_values_are_the_stacks_and_win_over_context() -> None:
    c = config(trendStateTable="mine")  # not a context key: ignored
    env = c.environment("trend", trend_state_table="from-the-stack", log_format="json")
    assert env["STOCKPIPE_TREND_STATE_TABLE"] == "from-the-stack"
    assert env["STOCKPIPE_LOG_FORMAT"] == "json"
