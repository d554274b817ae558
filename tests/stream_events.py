"""Factories for DynamoDB Streams events as Lambda delivers them."""

from __future__ import annotations

from typing import Any

from common import tables
from lambdas.trend.engine import TickIn

FIRST_SEQUENCE = 1_100_000_000_017_454_423_009  # as DynamoDB Streams numbers them: > 64 bits


def stream_record(
    symbol: str, tick: TickIn, sequence: int, event_name: str = "INSERT"
) -> dict[str, Any]:
    image = tables.encode_tick_item(
        tables.TickItem(symbol, tick.id, tick.event_time_ms, tick.price, tick.volume, "replay"),
        dt="2026-11-25",
        ingest_lag_ms=0,
        expires_at_s=0,
        change=None,
        change_pct=None,
    )
    return {
        "eventID": f"ev-{sequence}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {k: image[k] for k in (tables.PARTITION_KEY, tables.SORT_KEY)},
            "NewImage": image,
            "SequenceNumber": str(FIRST_SEQUENCE + sequence),
            "SizeBytes": 200,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/stockpipe-ticks/stream/x",
    }


def event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}
