"""The alert contract: what the handler publishes is what readers and filter policies see."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from common.alerts import Alert, InvalidAlert


def an_alert(**overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "symbol": "AAPL",
        "signal": "BUY",
        "fast": 5,
        "slow": 20,
        "bar_time": "2024-11-25T14:31:00+00:00",
        "bar_start_ms": 1_732_545_060_000,
        "price": 229.87,
        "indicators": {"sma_fast": 229.5012345678, "sma_slow": 229.1, "rsi_14": None},
    } | overrides
    return Alert(**fields)


def test_a_published_alert_reads_back_equal_from_an_sqs_envelope() -> None:
    # GIVEN an alert as the handler publishes it
    alert = an_alert(indicators={"sma_fast": 229.5, "sma_slow": 229.1, "rsi_14": None})
    args = alert.publish_args("arn:aws:sns:us-east-1:123456789012:alerts")
    # WHEN SNS wraps it for an SQS subscriber (default, non-raw delivery)
    envelope = orjson.dumps({"Type": "Notification", "Message": args["Message"]})
    # THEN the reader gets the same alert, with the same id
    assert Alert.from_sns_envelope(envelope) == alert
    assert Alert.from_message(args["Message"]).id == alert.id


def test_the_id_is_deterministic_and_names_symbol_bar_signal_and_rule() -> None:
    assert an_alert().id == "AAPL:1732545060000:BUY:sma5x20"
    assert an_alert(price=1.0, indicators={}).id == an_alert().id  # a repeat, same id
    assert an_alert(signal="SELL").id != an_alert().id
    assert an_alert(slow=50).id != an_alert().id
    assert an_alert(bar_start_ms=1_732_545_120_000).id != an_alert().id


def test_attributes_carry_symbol_signal_and_id_for_filter_policies_and_de_dup() -> None:
    attributes = an_alert(signal="SELL").publish_args("arn")["MessageAttributes"]
    assert {k: v["StringValue"] for k, v in attributes.items()} == {
        "symbol": "AAPL",
        "signal": "SELL",
        "alert_id": "AAPL:1732545060000:SELL:sma5x20",
    }
    assert all(v["DataType"] == "String" for v in attributes.values())


def test_body_rounds_indicators_and_names_the_rule() -> None:
    body = an_alert().body()
    assert body["indicators"]["sma_fast"] == 229.501235
    assert body["rule"] == "SMA5 crossed above SMA20"
    assert an_alert(signal="SELL").body()["rule"] == "SMA5 crossed below SMA20"


def test_the_subject_is_printable_ascii_within_the_sns_limit() -> None:
    subject = an_alert(symbol="AB\nC\u00e9" + "X" * 200).subject()
    assert len(subject) == 100
    assert subject.isascii() and subject.isprintable()
    assert subject.startswith("BUY AB?C?XX")


@pytest.mark.parametrize(
    "message",
    [
        b"not json",
        b"[1, 2]",
        b'{"symbol": "AAPL"}',
        orjson.dumps(an_alert().body() | {"signal": "HOLD"}),
    ],
)
def test_a_message_that_is_not_an_alert_is_refused_with_the_reason(message: bytes) -> None:
    with pytest.raises(InvalidAlert):
        Alert.from_message(message)


def test_an_envelope_without_a_message_is_refused() -> None:
    with pytest.raises(InvalidAlert, match="not an SNS notification"):
        Alert.from_sns_envelope(b'{"Type": "Notification"}')
