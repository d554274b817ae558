"""What every quote source provides."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol


class RawQuote(NamedTuple):
    """A quote as a source saw it, before validation; fields may be anything."""

    symbol: Any
    event_time_ms: Any
    price: Any
    volume: Any


class QuoteSource(Protocol):
    """A named stream of raw quotes that ends early when `stop` is set."""

    name: str

    def quotes(self, stop: threading.Event) -> Iterator[RawQuote]: ...


def as_volume(value: Any) -> Any:
    """Integral floats (as pandas and CSV readers give volumes) become ints; others pass."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
