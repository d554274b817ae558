"""The two wire formats the dashboard reads, through their one statement in `common/`:
the tick item (`common.tables`) and the alert message (`common.alerts`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from common import tables
from common.alerts import Alert, InvalidAlert


class FormatError(ValueError):
    """A message or item that is not what the pipeline writes."""


@dataclass(frozen=True)
class TickRow:
    symbol: str
    sort_key: str
    event_time_ms: int
    price: Decimal
    volume: int
    arrival_ms: int  # Kinesis arrival: event time + the consumer's ingest lag


def tick_from_item(item: dict[str, Any]) -> TickRow | None:
    """A DynamoDB tick item (low-level AttributeValues); None for the latest-quote item."""
    try:
        tick = tables.decode_tick_item(item)
        if tick is None:
            return None
        return TickRow(
            symbol=tick.symbol,
            sort_key=item[tables.SORT_KEY]["S"],
            event_time_ms=tick.event_time_ms,
            price=Decimal(tick.price),
            volume=tick.volume,
            arrival_ms=tick.event_time_ms + int(item["ingest_lag_ms"]["N"]),
        )
    except (KeyError, ValueError) as e:
        raise FormatError(f"tick item lacks or garbles {e}") from e


def alert_from_message(body: str) -> dict[str, Any]:
    """The alert body of an SQS message delivered by the alerts topic (SNS envelope)."""
    try:
        return Alert.from_sns_envelope(body).body()
    except InvalidAlert as e:
        raise FormatError(f"not an alert: {e}") from e
