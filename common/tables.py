"""The DynamoDB ticks table contract, shared by provisioning, the consumer and the trend Lambda:
keys, and the one codec of a tick item (written by the consumer, read by the trend handler).

Sort key `sk` = zero-padded event time + tick id: ordered by event time, unique per tick, and
the same for a re-delivered tick, so a replay overwrites instead of duplicating.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

PARTITION_KEY = "symbol"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
LATEST_SORT_KEY = "LATEST"  # the per-symbol latest-quote item; sorts after every tick key


def tick_sort_key(event_time_ms: int, tick_id: str) -> str:
    """`0001732545000000#<id>`: 16 digits keep lexical order equal to time order."""
    return f"{event_time_ms:016d}#{tick_id}"


def latest_quote_key(symbol: str) -> dict[str, dict[str, str]]:
    """The key of a symbol's latest-quote item."""
    return {PARTITION_KEY: {"S": symbol}, SORT_KEY: {"S": LATEST_SORT_KEY}}


@dataclass(frozen=True, slots=True)
class TickItem:
    """The fields of a tick item that readers (the trend handler, the CLI) rely on.

    `price` is written from a float (its shortest round-trip text, `str(float)`) and decoded
    as the exact `Decimal` of the stored number, so readers can compare prices exactly."""

    symbol: str
    id: str
    event_time_ms: int
    price: Decimal | float
    volume: int
    source: str


def encode_tick_item(
    tick: TickItem,
    *,
    dt: str,
    ingest_lag_ms: int,
    expires_at_s: int,
    change: float | None,
    change_pct: float | None,
) -> dict[str, Any]:
    """A tick as a low-level DynamoDB item (AttributeValues, as BatchWriteItem takes them)."""
    item: dict[str, Any] = {
        PARTITION_KEY: {"S": tick.symbol},
        SORT_KEY: {"S": tick_sort_key(tick.event_time_ms, tick.id)},
        "id": {"S": tick.id},
        "event_time_ms": {"N": str(tick.event_time_ms)},
        "price": {"N": str(tick.price)},
        "volume": {"N": str(tick.volume)},
        "source": {"S": tick.source},
        "dt": {"S": dt},
        "ingest_lag_ms": {"N": str(ingest_lag_ms)},
        TTL_ATTRIBUTE: {"N": str(expires_at_s)},
    }
    if change is not None:
        item["change"] = {"N": repr(change)}
        item["change_pct"] = {"N": repr(change_pct)}
    return item


def decode_tick_item(image: Mapping[str, Any]) -> TickItem | None:
    """A tick item (or stream NewImage) back to its fields; None for the latest-quote item.

    Raises ValueError for an item that is neither (a foreign writer, a damaged image).
    """
    if image.get(SORT_KEY, {}).get("S") == LATEST_SORT_KEY:
        return None
    try:
        return TickItem(
            symbol=image[PARTITION_KEY]["S"],
            id=image["id"]["S"],
            event_time_ms=int(image["event_time_ms"]["N"]),
            price=Decimal(image["price"]["N"]),
            volume=int(image["volume"]["N"]),
            source=image["source"]["S"],
        )
    except (KeyError, TypeError, ValueError, InvalidOperation) as e:
        raise ValueError(f"not a tick item: {e!r}") from e
