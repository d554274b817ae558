"""The produce loop: a quote that cannot be validated or encoded is counted and skipped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from common.tick import Tick, make_tick
from producer import run
from producer.publisher import KinesisPublisher
from producer.sources.base import RawQuote
from tests.factories import NOW_MS
from tests.unit.producer.test_publisher import ScriptedKinesis


class ListSource:
    name = "replay"

    def __init__(self, quotes: list[RawQuote]) -> None:
        self._quotes = quotes

    def quotes(self, stop: threading.Event) -> Iterator[RawQuote]:
        yield from self._quotes


def good(i: int) -> RawQuote:
    return RawQuote("AAPL", NOW_MS - 3_600_000 + i * 1000, 100.0 + i, i)


BAD = [
    RawQuote("AAPL", NOW_MS - 1000, 100.0, 2**64),  # does not fit Int64 (or orjson)
    RawQuote("AAPL", NOW_MS - 1000, 100.0, 2**63),
    RawQuote("AAPL", NOW_MS - 1000, 1e-200, 5),  # DynamoDB underflow
    RawQuote("AAPL", NOW_MS - 1000, 10**400, 5),
    RawQuote("AAPL", NOW_MS - 1000, float("nan"), 5),
    RawQuote("AAPL", 10**30, 100.0, 5),
    RawQuote("aapl", NOW_MS - 1000, 100.0, 5),
]


def produce(quotes: list[RawQuote]) -> tuple[run.ProduceStats, ScriptedKinesis]:
    client = ScriptedKinesis()
    publisher = KinesisPublisher(client, "ticks", linger_s=0.01).start()
    return run.produce(ListSource(quotes), publisher), client


def test_bad_quotes_between_good_ones_are_counted_and_the_loop_goes_on() -> None:
    quotes = [good(0), *BAD, good(1), good(2)]
    stats, client = produce(quotes)
    assert stats.produced == 3 and stats.sent == 3
    assert stats.rejected == len(BAD)
    assert [orjson.loads(d)["volume"] for d in client.stored] == [0, 1, 2]


def test_a_tick_the_publisher_cannot_encode_is_skipped_and_counted(monkeypatch: Any) -> None:
    # GIVEN validation that (wrongly) lets a volume of 2^64 through
    def unchecked(symbol: Any, ts: Any, price: Any, volume: Any, source: Any) -> Tick:
        return Tick(f"id{volume}", symbol, ts, price, volume, source)

    monkeypatch.setattr(run, "make_tick", unchecked)
    # WHEN it comes between two good quotes
    stats, client = produce([good(0), RawQuote("AAPL", NOW_MS, 1.0, 2**64), good(1)])
    # THEN it is counted as unencodable, and the quotes after it are still sent
    assert stats.rejected_by_rule == {"unencodable": 1}
    assert stats.produced == 2 and len(client.stored) == 2


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            RawQuote,
            st.one_of(st.just("AAPL"), st.text(max_size=5), st.integers()),
            st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats()),
            st.one_of(st.floats(), st.integers(min_value=-(2**70), max_value=2**70)),
            st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats()),
        ),
        max_size=8,
    )
)
def test_any_quote_is_either_published_or_counted(quotes: list[RawQuote]) -> None:
    stats, client = produce(quotes)
    assert stats.produced + stats.rejected == len(quotes)
    assert len(client.stored) == stats.produced
    for data in client.stored:
        tick = orjson.loads(data)
        assert (
            make_tick(
                tick["symbol"], tick["event_time_ms"], tick["price"], tick["volume"], "replay"
            ).id
            == tick["id"]
        )
