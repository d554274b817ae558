"""GIVEN CDK context values WHEN read into a DeployConfig THEN defaults, parsing and errors."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.config import ConfigError, DeployConfig


def config(**context: Any) -> DeployConfig:
    return DeployConfig.from_context(context.get)


def test_no_context_gives_a_deployable_default() -> None:
    c = config()
    assert (c.shards, c.on_demand, c.consumer_cap) == (2, False, 2)
    assert c.producer_source == "yfinance" and c.alert_emails == ()
    assert c.trend_reserved_concurrency == 0  # a reserve fails on new accounts


def test_values_from_the_command_line_are_strings_and_are_parsed() -> None:
    c = config(shards="4", alertEmails="a@x.io, b@y.org", alertSymbols="aapl,msft")
    assert c.shards == 4 and c.consumer_cap == 4
    assert c.alert_emails == ("a@x.io", "b@y.org")
    assert c.alert_symbols == ("AAPL", "MSFT")


def test_values_from_cdk_json_are_lists_and_numbers() -> None:
    c = config(shards=8, alertSms=["+15551234567"], symbols=["SPY", "QQQ"])
    assert (c.shards, c.alert_sms, c.symbols) == (8, ("+15551234567",), ("SPY", "QQQ"))


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
        ({"producerSource": "bloomberg"}, "producerSource='bloomberg': one of yfinance, synthetic"),
        ({"logRetentionDays": 10}, "logRetentionDays=10: one of 1, 3, 5"),
        ({"name": "Stock_Pipe"}, "name='Stock_Pipe': lower-case letters"),
        ({"lambdaTracing": "yes"}, "lambdaTracing='yes': true or false"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        config(**context)
    assert message in str(error.value)
