"""The alert contract: one SNS message per crossover, with a JSON body and filter attributes.

Written by the trend handler, read by `stockpipe alerts`, the demo and any subscriber. Every
alert carries a deterministic id (symbol, bar, signal, rule): a repeat delivered after a
crash has the same id, so a subscriber drops it (docs/trend.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

Signal = Literal["BUY", "SELL"]
SIGNALS: tuple[Signal, ...] = ("BUY", "SELL")
SUBJECT_LIMIT = 100  # SNS: at most 100 printable ASCII characters, no line breaks
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")
# attributes a subscription's filter policy can match on
FILTER_ATTRIBUTES = ("symbol", "signal")


class InvalidAlert(ValueError):
    """A message that is not an alert of this contract."""


@dataclass(frozen=True)
class Alert:
    """A crossover of the fast over the slow SMA, with the indicator values at that bar."""

    symbol: str
    signal: Signal
    fast: int
    slow: int
    bar_time: str  # ISO-8601 UTC start of the bar
    bar_start_ms: int
    price: float
    indicators: dict[str, float | None] = field(default_factory=dict)

    @property
    def rule(self) -> str:
        side = "above" if self.signal == "BUY" else "below"
        return f"SMA{self.fast} crossed {side} SMA{self.slow}"

    @property
    def id(self) -> str:
        """`AAPL:1732545000000:BUY:sma5x20`: the same alert always has the same id."""
        return f"{self.symbol}:{self.bar_start_ms}:{self.signal}:sma{self.fast}x{self.slow}"

    def body(self) -> dict[str, Any]:
        body = asdict(self)
        body["indicators"] = {
            k: (round(v, 6) if v is not None else None) for k, v in self.indicators.items()
        }
        return body | {"rule": self.rule, "id": self.id}

    def subject(self) -> str:
        """A readable e-mail/SMS subject, printable ASCII only whatever the fields hold."""
        text = f"{self.signal} {self.symbol} @ {self.price:.2f}: {self.rule}"
        return _UNPRINTABLE.sub("?", text)[:SUBJECT_LIMIT]

    def publish_args(self, topic_arn: str) -> dict[str, Any]:
        """SNS Publish arguments: subject for humans, attributes for filter policies and de-dup."""
        attributes = {"symbol": self.symbol, "signal": self.signal, "alert_id": self.id}
        return {
            "TopicArn": topic_arn,
            "Subject": self.subject(),
            "Message": orjson.dumps(self.body()).decode(),
            "MessageAttributes": {
                k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
            },
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Alert:
        try:
            alert = cls(
                symbol=str(body["symbol"]),
                signal=body["signal"],
                fast=int(body["fast"]),
                slow=int(body["slow"]),
                bar_time=str(body["bar_time"]),
                bar_start_ms=int(body["bar_start_ms"]),
                price=float(body["price"]),
                indicators=dict(body.get("indicators") or {}),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidAlert(f"not an alert body: {e!r}") from e
        if alert.signal not in SIGNALS:
            raise InvalidAlert(f"unknown signal {alert.signal!r}")
        return alert

    @classmethod
    def from_message(cls, message: str | bytes) -> Alert:
        """The `Message` of an SNS notification (or an SQS body with raw delivery)."""
        try:
            body = orjson.loads(message)
        except orjson.JSONDecodeError as e:
            raise InvalidAlert(f"alert message is not JSON: {e}") from e
        if not isinstance(body, dict):
            raise InvalidAlert("alert message is not a JSON object")
        return cls.from_body(body)

    @classmethod
    def from_sns_envelope(cls, envelope: str | bytes) -> Alert:
        """An SQS message body holding an SNS notification (the default, non-raw delivery)."""
        try:
            message = orjson.loads(envelope)["Message"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as e:
            raise InvalidAlert(f"not an SNS notification: {e!r}") from e
        return cls.from_message(message)
