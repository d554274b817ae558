"""The two wire formats the dashboard reads, each read by exactly one function.

The alert body is made by lambdas/trend/alerts.py and the tick item by consumer/encode.py;
when those contracts move to `common/`, only these two functions change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from common import tables

ALERT_FIELDS = ("symbol", "signal", "bar_time", "bar_start_ms", "price", "indicators", "rule")


class FormatError(ValueError):
    """A message or item that is not what the pipeline writes."""


@dataclass(frozen=True)
class TickRow:
    symbol: str
    sort_key: str
    event_time_ms: int
    price: float
    volume: int
    arrival_ms: int  # Kinesis arrival: event time + the consumer's ingest lag


def tick_from_item(item: dict[str, Any]) -> TickRow | None:
    """A DynamoDB tick item (low-level AttributeValues); None for the latest-quote item."""
    sort_key = item[tables.SORT_KEY]["S"]
    if sort_key == tables.LATEST_SORT_KEY:
        return None
    try:
        event_ms = int(item["event_time_ms"]["N"])
        return TickRow(
            symbol=item[tables.PARTITION_KEY]["S"],
            sort_key=sort_key,
            event_time_ms=event_ms,
            price=float(item["price"]["N"]),
            volume=int(item["volume"]["N"]),
            arrival_ms=event_ms + int(item["ingest_lag_ms"]["N"]),
        )
    except (KeyError, ValueError) as e:
        raise FormatError(f"tick item {sort_key!r} lacks or garbles {e}") from e


def alert_from_message(body: str) -> dict[str, Any]:
    """The alert body of an SQS message delivered by the alerts topic (SNS envelope)."""
    try:
        alert = orjson.loads(orjson.loads(body)["Message"])
    except (orjson.JSONDecodeError, KeyError, TypeError) as e:
        raise FormatError(f"not an SNS alert envelope: {body[:80]!r}") from e
    if not isinstance(alert, dict) or any(f not in alert for f in ALERT_FIELDS):
        raise FormatError(f"alert lacks one of {', '.join(ALERT_FIELDS)}: {str(alert)[:120]}")
    return alert
