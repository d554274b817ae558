"""The alert contract, field by field: the exact body, the Publish arguments, and the reason
each refused message gives (mutation testing found these unchecked, docs/testing.md)."""

from __future__ import annotations

import orjson
import pytest

from common.alerts import Alert, InvalidAlert
from tests.unit.common.test_alerts import an_alert

TOPIC = "arn:aws:sns:eu-west-1:123456789012:stockpipe-alerts"


def test_the_body_holds_every_field_the_rule_and_the_id() -> None:
    alert = an_alert(indicators={"sma_fast": 229.5, "sma_slow": 229.1})
    assert alert.body() == {
        "symbol": "AAPL",
        "signal": "BUY",
        "fast": 5,
        "slow": 20,
        "bar_time": "2024-11-25T14:31:00+00:00",
        "bar_start_ms": 1_732_545_060_000,
        "price": 229.87,
        "indicators": {"sma_fast": 229.5, "sma_slow": 229.1},
        "rule": "SMA5 crossed above SMA20",
        "id": "AAPL:1732545060000:BUY:sma5x20",
    }


def test_publish_arguments_name_the_topic_subject_message_and_attributes() -> None:
    alert = an_alert()
    args = alert.publish_args(TOPIC)
    assert set(args) == {"TopicArn", "Subject", "Message", "MessageAttributes"}
    assert args["TopicArn"] == TOPIC
    assert args["Subject"] == "BUY AAPL @ 229.87: SMA5 crossed above SMA20"
    assert orjson.loads(args["Message"]) == alert.body()


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"not json", r"^alert message is not JSON: "),
        (b"[1, 2]", r"^alert message is not a JSON object$"),
        (b'{"symbol": "AAPL"}', r"^not an alert body: KeyError\('signal'\)$"),
        (
            orjson.dumps(an_alert().body() | {"price": "n/a"}),
            r"^not an alert body: ValueError\(",
        ),
        (orjson.dumps(an_alert().body() | {"signal": "HOLD"}), r"^unknown signal 'HOLD'$"),
    ],
)
def test_each_refused_message_says_why(message: bytes, reason: str) -> None:
    with pytest.raises(InvalidAlert, match=reason):
        Alert.from_message(message)
