"""Factories for the kclpy messages the MultiLangDaemon sends, built as kclpy parses them."""

from __future__ import annotations

import base64
import json
from typing import Any

from amazon_kclpy import dispatch
from amazon_kclpy.checkpoint_error import CheckpointError


def decode(message: dict[str, Any]) -> Any:
    """Through kclpy's own JSON decoding, as KCLProcess does with the daemon's lines."""
    return json.loads(json.dumps(message), object_hook=dispatch.message_decode)


def record(
    data: bytes, sequence: int, arrival_ms: int = 1_764_000_000_000, key: str = "AAPL"
) -> dict[str, Any]:
    return {
        "action": "record",
        "data": base64.b64encode(data).decode(),
        "partitionKey": key,
        "sequenceNumber": str(sequence),
        "subSequenceNumber": 0,
        "approximateArrivalTimestamp": arrival_ms,
    }


def initialize(shard: str = "shardId-000000000000") -> Any:
    return decode(
        {
            "action": "initialize",
            "shardId": shard,
            "sequenceNumber": "TRIM_HORIZON",
            "subSequenceNumber": 0,
        }
    )


def process_records(records: list[dict[str, Any]]) -> Any:
    return decode({"action": "processRecords", "records": records, "millisBehindLatest": 0})


def lease_lost() -> Any:
    return decode({"action": "leaseLost"})


def shard_ended() -> Any:
    return decode({"action": "shardEnded"})


def shutdown_requested() -> Any:
    return decode({"action": "shutdownRequested"})


class RecordingCheckpointer:
    """Records checkpoint calls; can fail the first ones with a daemon error name."""

    def __init__(self, errors: list[str] | None = None) -> None:
        self.calls: list[tuple[str | None, int | None]] = []
        self.errors = list(errors or [])

    def checkpoint(
        self, sequence_number: str | None = None, sub_sequence_number: int | None = None
    ) -> None:
        self.calls.append((sequence_number, sub_sequence_number))
        if self.errors:
            raise CheckpointError(self.errors.pop(0))
