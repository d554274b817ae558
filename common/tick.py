"""The tick contract: one quote as it travels through the pipeline.

Producer and consumer share this module so that a record the producer accepts is exactly
a record the consumer accepts. Validation reports a machine-readable rule and a human
reason, because rejected ticks and dead letters are counted and grouped by rule.

Validation is true to every sink (common/sink_limits.py): a tick that passes can always be
stored as a DynamoDB item, a Parquet row (Int64 columns) and a Kinesis record, and the values
the consumer derives from two valid prices (change, change_pct) stay storable too.
Event time is judged against a reference that is the same on every replay: the record's
Kinesis arrival time in the consumer, the producer's own clock when it makes the tick.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from common.sink_limits import INT64_MAX

SYMBOL_PATTERN = re.compile(r"[A-Z0-9^][A-Z0-9.\-=^]{0,15}")
SOURCE_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}")
TICK_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

# History replays are legitimate, so the past has only a floor: the epoch.
MIN_EVENT_TIME_MS = 0
# 9999-12-31T23:59:59.999Z: the last instant a YYYY-MM-DD partition can name
MAX_EVENT_TIME_MS = 253_402_300_799_999
# A quote stamped later than this after it reached Kinesis (or after the producer's clock) is
# a clock or data error; one such outlier would move the trend's watermark (docs/consumer.md).
MAX_FUTURE_SKEW_MS = 5 * 60_000
# Prices live in [1e-9, 1e9]: sub-penny stocks and micro-priced crypto fit, and the derived
# change (>= one ulp of 1e-9, ~2e-25) and change_pct (|p/q - 1| * 100 <= 1e20) stay within
# DynamoDB's magnitudes 1E-130..9.99E+125 for any two valid prices.
MIN_PRICE = 1e-9
MAX_PRICE = 1e9
MAX_VOLUME = INT64_MAX  # the Parquet / polars Int64 column
MAX_RECORD_BYTES = 1024  # a tick encodes to ~130 bytes; anything near 1 KiB is not a tick

FIELDS = ("id", "symbol", "event_time_ms", "price", "volume", "source")

Clock = Callable[[], float]
"""Returns the current time in epoch seconds (time.time by default)."""


class InvalidTick(ValueError):
    """A quote or record that breaks the contract; `rule` names which check failed."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"{rule}: {reason}")
        self.rule = rule
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Tick:
    """A validated quote: construct through `make_tick` or `decode_tick`, never directly."""

    id: str
    symbol: str
    event_time_ms: int
    price: float
    volume: int
    source: str

    def encode(self) -> bytes:
        """The Kinesis record data: compact UTF-8 JSON."""
        return orjson.dumps(
            {
                "id": self.id,
                "symbol": self.symbol,
                "event_time_ms": self.event_time_ms,
                "price": self.price,
                "volume": self.volume,
                "source": self.source,
            }
        )


def tick_id(source: str, symbol: str, event_time_ms: int, price: float, volume: int) -> str:
    """Deterministic id: the same quote sent twice gets the same id, so sinks overwrite."""
    key = f"{source}|{symbol}|{event_time_ms}|{price!r}|{volume}".encode()
    return hashlib.blake2b(key, digest_size=10).hexdigest()


def make_tick(
    symbol: Any,
    event_time_ms: Any,
    price: Any,
    volume: Any,
    source: Any,
    *,
    clock: Clock = time.time,
    max_future_skew_ms: int = MAX_FUTURE_SKEW_MS,
) -> Tick:
    """Validate a raw quote from a source and give it its id; raises InvalidTick.

    The event time may be at most `max_future_skew_ms` ahead of `clock`.
    """
    _check_fields(
        symbol, event_time_ms, price, volume, source, int(clock() * 1000) + max_future_skew_ms
    )
    price = float(price)
    return Tick(
        id=tick_id(source, symbol, event_time_ms, price, volume),
        symbol=symbol,
        event_time_ms=event_time_ms,
        price=price,
        volume=volume,
        source=source,
    )


def decode_tick(
    data: bytes,
    *,
    arrival_ms: int | None = None,
    clock: Clock = time.time,
    max_future_skew_ms: int = MAX_FUTURE_SKEW_MS,
) -> Tick:
    """Parse and validate Kinesis record data; raises InvalidTick with the broken rule.

    The event time may be at most `max_future_skew_ms` ahead of `arrival_ms` (the record's
    Kinesis arrival time, so a replay judges it the same way), or of `clock` without one.
    """
    if len(data) > MAX_RECORD_BYTES:
        raise InvalidTick("too_large", f"record is {len(data)} bytes, limit {MAX_RECORD_BYTES}")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InvalidTick("not_json", f"record is not UTF-8 JSON ({e})") from e
    if not isinstance(obj, Mapping):
        raise InvalidTick("not_object", f"record is a JSON {type(obj).__name__}, not an object")
    missing = [f for f in FIELDS if f not in obj]
    if missing:
        raise InvalidTick("missing_field", f"missing field(s): {', '.join(missing)}")
    ident = obj["id"]
    if not isinstance(ident, str) or not TICK_ID_PATTERN.fullmatch(ident):
        raise InvalidTick("bad_id", f"id {ident!r} is not 1-64 characters of [A-Za-z0-9_-]")
    symbol, ts, price = obj["symbol"], obj["event_time_ms"], obj["price"]
    volume, source = obj["volume"], obj["source"]
    reference_ms = arrival_ms if arrival_ms is not None else int(clock() * 1000)
    _check_fields(symbol, ts, price, volume, source, reference_ms + max_future_skew_ms)
    return Tick(ident, symbol, ts, float(price), volume, source)


def _check_fields(
    symbol: Any, event_time_ms: Any, price: Any, volume: Any, source: Any, latest_ms: int
) -> None:
    if not isinstance(symbol, str):
        raise InvalidTick("bad_symbol", f"symbol must be a string, got {type(symbol).__name__}")
    if not SYMBOL_PATTERN.fullmatch(symbol):
        raise InvalidTick(
            "bad_symbol", f"symbol {symbol[:40]!r} must be 1-16 of A-Z 0-9 . - = ^ (upper case)"
        )
    if not isinstance(source, str) or not SOURCE_PATTERN.fullmatch(source):
        raise InvalidTick(
            "bad_source", f"source {str(source)[:40]!r} must be a short lowercase name"
        )
    _check_price(price)
    if isinstance(volume, bool) or not isinstance(volume, int):
        raise InvalidTick("bad_volume", f"volume must be an integer, got {type(volume).__name__}")
    if volume < 0:
        raise InvalidTick("bad_volume", f"volume {_short(volume)} is negative")
    if volume > MAX_VOLUME:
        raise InvalidTick(
            "bad_volume", f"volume {_short(volume)} does not fit a 64-bit integer column"
        )
    _check_event_time(event_time_ms, latest_ms)


def _check_price(price: Any) -> None:
    if isinstance(price, bool) or not isinstance(price, int | float):
        raise InvalidTick("bad_price", f"price must be a number, got {type(price).__name__}")
    if isinstance(price, float) and not math.isfinite(price):
        raise InvalidTick("bad_price", f"price {price} is not finite")
    if price <= 0:
        raise InvalidTick("bad_price", f"price {_short(price)} is not positive")
    if price < MIN_PRICE:
        raise InvalidTick("bad_price", f"price {price!r} is below {MIN_PRICE:g}")
    if price > MAX_PRICE:
        raise InvalidTick("bad_price", f"price {_short(price)} is above {MAX_PRICE:g}")


def _short(number: int | float) -> str:
    """A number for a reason text; a huge integer by its size (repr refuses > 4300 digits)."""
    if isinstance(number, int) and number.bit_length() > 64:
        return f"<{'-' if number < 0 else ''}{number.bit_length()}-bit integer>"
    return repr(number)


def _check_event_time(event_time_ms: Any, latest_ms: int) -> None:
    if isinstance(event_time_ms, bool) or not isinstance(event_time_ms, int):
        raise InvalidTick(
            "bad_time",
            f"event_time_ms must be integer epoch ms, got {type(event_time_ms).__name__}",
        )
    if event_time_ms < MIN_EVENT_TIME_MS:
        raise InvalidTick("bad_time", f"event time {_short(event_time_ms)} ms is before 1970")
    if event_time_ms > min(latest_ms, MAX_EVENT_TIME_MS):
        raise InvalidTick(
            "bad_time",
            f"event time {_short(event_time_ms)} ms is too far ahead: the latest allowed is "
            f"{min(latest_ms, MAX_EVENT_TIME_MS)} ms (arrival or producer clock + max skew)",
        )
