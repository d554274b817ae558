"""The DynamoDB ticks table contract, shared by provisioning, the consumer and the trend Lambda.

Sort key `sk` = zero-padded event time + tick id: ordered by event time, unique per tick, and
the same for a re-delivered tick, so a replay overwrites instead of duplicating.
"""

from __future__ import annotations

PARTITION_KEY = "symbol"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
LATEST_SORT_KEY = "LATEST"  # the per-symbol latest-quote item; sorts after every tick key


def tick_sort_key(event_time_ms: int, tick_id: str) -> str:
    """`0001732545000000#<id>`: 16 digits keep lexical order equal to time order."""
    return f"{event_time_ms:016d}#{tick_id}"
