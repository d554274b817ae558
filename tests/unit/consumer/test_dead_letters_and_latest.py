"""The dead-letter objects (keys, JSON lines, every field), the UTC partition date whatever
the machine's time zone, and the latest quote per symbol."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest

from consumer import encode
from consumer.batch import InRecord, PriceMemory, build_batch, partition_date
from tests.factories import NOW_MS, a_tick

SHARD = "shardId-000000000004"
DAY_MS = 86_400_000
MIDNIGHT = NOW_MS - NOW_MS % DAY_MS  # 2025-11-24T00:00Z


@pytest.fixture
def far_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process in a time zone 9 h from UTC, where local dates differ from UTC dates."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_partition_dates_are_utc_dates_whatever_the_machine_time_zone(far_time_zone: None) -> None:
    assert partition_date(MIDNIGHT - 1) == "2025-11-23"
    assert partition_date(MIDNIGHT) == "2025-11-24"
    assert partition_date(MIDNIGHT + DAY_MS - 1) == "2025-11-24"


def test_dead_letters_are_json_lines_per_arrival_date_keyed_by_their_first_record(
    far_time_zone: None,
) -> None:
    # GIVEN bad records that arrived on two UTC dates, not in sequence order
    records = [
        InRecord(b"{not json", "31", 0, MIDNIGHT - 5, "AAPL"),
        InRecord(b"\xff\xfe binary", "12", 0, MIDNIGHT - 9, "AAPL"),
        InRecord(b"[1, 2]", "40", 0, MIDNIGHT + 7, "MSFT"),
    ]
    batch = build_batch(records, SHARD, PriceMemory())
    # WHEN they are serialised
    made = dict(encode.dead_letter_objects(batch))
    # THEN one object per arrival date, keyed by its lowest sequence number and that arrival
    assert sorted(made) == [
        f"dead-letter/dt=2025-11-23/{SHARD}-{MIDNIGHT - 9:013d}-12.jsonl",
        f"dead-letter/dt=2025-11-24/{SHARD}-{MIDNIGHT + 7:013d}-40.jsonl",
    ]
    # AND each holds one JSON line per record, in the order read, with every field
    before = made[f"dead-letter/dt=2025-11-23/{SHARD}-{MIDNIGHT - 9:013d}-12.jsonl"]
    assert before.endswith(b"\n") and before.count(b"\n") == 2
    first, second = (json.loads(line) for line in before.splitlines())
    assert first == {
        "rule": "not_json",
        "reason": first["reason"],
        "shard_id": SHARD,
        "sequence_number": "31",
        "arrival_ms": MIDNIGHT - 5,
        "data_base64": base64.b64encode(b"{not json").decode(),
        "data_text": "{not json",
    }
    assert first["reason"]  # the decoder's own message
    assert second["sequence_number"] == "12" and second["rule"] == "not_json"
    assert base64.b64decode(second["data_base64"]) == b"\xff\xfe binary"
    assert second["data_text"] is None  # not UTF-8: the bytes are in data_base64 only
    after = made[f"dead-letter/dt=2025-11-24/{SHARD}-{MIDNIGHT + 7:013d}-40.jsonl"]
    [only] = (json.loads(line) for line in after.splitlines())
    assert (only["rule"], only["data_text"], only["arrival_ms"]) == (
        "not_object",
        "[1, 2]",
        MIDNIGHT + 7,
    )


def test_the_latest_quote_per_symbol_is_its_newest_tick_by_event_time() -> None:
    ticks = {
        "a1": a_tick(symbol="AAPL", price=1.0, event_time_ms=MIDNIGHT + 30),
        "a2": a_tick(symbol="AAPL", price=2.0, event_time_ms=MIDNIGHT + 10),
        "m1": a_tick(symbol="MSFT", price=3.0, event_time_ms=MIDNIGHT + 5),
        "m2": a_tick(symbol="MSFT", price=4.0, event_time_ms=MIDNIGHT + 50),
        "g1": a_tick(symbol="GOOG", price=5.0, event_time_ms=MIDNIGHT + 1),
    }
    records = [
        InRecord(t.encode(), str(i + 1), 0, MIDNIGHT + 100, t.symbol)
        for i, t in enumerate(ticks.values())
    ]
    latest = encode.latest_quotes(build_batch(records, SHARD, PriceMemory()))
    assert sorted(latest) == [
        ("AAPL", MIDNIGHT + 30, 1.0, ticks["a1"].id),
        ("GOOG", MIDNIGHT + 1, 5.0, ticks["g1"].id),
        ("MSFT", MIDNIGHT + 50, 4.0, ticks["m2"].id),
    ]
