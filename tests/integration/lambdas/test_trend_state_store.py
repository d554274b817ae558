"""The trend state store against the emulator: what a save writes, what a load gives back,
and the version condition that lets exactly one of two racing writers through.

Lean on purpose (only the state table, no full provisioning): `make mutation` runs these for
every mutant of lambdas/trend/state_store.py (docs/testing.md)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from common import aws
from lambdas.trend.engine import SymbolState, TickIn, TrendConfig, apply
from lambdas.trend.state_store import (
    SAVE_ATTEMPTS,
    SCHEMA,
    OutboxEntry,
    StateStore,
    Stored,
    VersionConflict,
)
from tests.unit.lambdas.test_trend_engine import bar_ticks, random_walk

TABLE = "trend-state-test"


@pytest.fixture
def table() -> str:
    """The state table as provisioning makes it (symbol is the only key)."""
    aws.client("dynamodb").create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "symbol", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "symbol", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE


def raw_item(symbol: str = "AAPL") -> dict[str, Any]:
    return dict(
        aws.client("dynamodb").get_item(TableName=TABLE, Key={"symbol": {"S": symbol}})["Item"]
    )


def put_item(
    dynamodb: Any, table: str, symbol: str, *, state: str, outbox: str = "[]", **more: Any
) -> None:
    """A state item written directly (by an older handler, or damaged), at version 7."""
    item = {"symbol": {"S": symbol}, "version": {"N": "7"}, "state": {"S": state}}
    dynamodb.put_item(TableName=table, Item=item | {"outbox": {"S": outbox}} | more)


def a_state(symbol: str = "AAPL") -> SymbolState:
    """A state with every part filled: open bars, indicators, a side, late and held ticks."""
    state = SymbolState(symbol)
    ticks = bar_ticks(random_walk(40, seed=7))
    apply(state, ticks, TrendConfig())
    apply(state, [TickIn("late", ticks[0].event_time_ms, Decimal("1.5"), 3)], TrendConfig())
    far = ticks[-1].event_time_ms + 86_400_000
    apply(state, [TickIn("far", far, Decimal("2.25"), 4)], TrendConfig())
    assert state.open_bars and state.side and state.late_ticks == 1 and state.held
    return state


def an_alert(n: int) -> dict[str, Any]:
    return {"id": f"AAPL:{n}:BUY:sma5x20", "symbol": "AAPL", "signal": "BUY", "price": 1.5}


def test_a_symbol_never_saved_loads_as_a_new_state_at_version_0(table: str) -> None:
    stored = StateStore(aws.client("dynamodb"), table).load("AAPL")
    assert stored == Stored(SymbolState("AAPL"), [], 0)


def test_a_saved_state_and_outbox_load_back_equal_and_the_version_counts_up(table: str) -> None:
    store = StateStore(aws.client("dynamodb"), table)
    stored = Stored(a_state(), [OutboxEntry(an_alert(1), 0), OutboxEntry(an_alert(2), 77)])
    store.save(stored)
    assert stored.version == 1
    loaded = store.load("AAPL")
    assert loaded == stored
    assert loaded.state.to_json_dict() == a_state().to_json_dict()
    store.save(loaded)
    assert loaded.version == 2 and store.load("AAPL").version == 2
    item = raw_item()
    assert (item["version"], item["schema"]) == ({"N": "2"}, {"N": str(SCHEMA)})


def test_symbols_are_stored_apart(table: str) -> None:
    store = StateStore(aws.client("dynamodb"), table)
    store.save(Stored(a_state("AAPL"), [OutboxEntry(an_alert(1), 5)]))
    store.save(Stored(SymbolState("MSFT")))
    assert store.load("MSFT") == Stored(SymbolState("MSFT"), [], 1)
    assert store.load("AAPL").outbox == [OutboxEntry(an_alert(1), 5)]


@pytest.mark.parametrize("schema", [{"schema": {"N": str(SCHEMA - 1)}}, {}])
def test_a_state_of_another_schema_starts_over_keeping_outbox_and_version(
    table: str, schema: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an item written by an older handler (another schema, or none at all)
    outbox = '[{"alert": {"id": "a1"}, "lease_until_ms": 3}]'
    put_item(
        aws.client("dynamodb"), table, "AAPL", state='{"old": "layout"}', outbox=outbox, **schema
    )
    store = StateStore(aws.client("dynamodb"), table)
    # WHEN it is loaded
    with caplog.at_level(logging.WARNING, logger="lambdas.trend.state_store"):
        stored = store.load("AAPL")
    # THEN the state starts over, the unpublished alerts and the version are kept
    assert stored == Stored(SymbolState("AAPL"), [OutboxEntry({"id": "a1"}, 3)], 7)
    assert caplog.messages == ["trend state of AAPL has another schema; it starts over"]
    store.save(stored)  # and the next save replaces it under the version condition
    assert store.load("AAPL") == Stored(SymbolState("AAPL"), [OutboxEntry({"id": "a1"}, 3)], 8)


def test_a_save_from_a_stale_read_is_refused_and_changes_nothing(table: str) -> None:
    store = StateStore(aws.client("dynamodb"), table)
    store.save(Stored(SymbolState("AAPL")))
    first, second = store.load("AAPL"), store.load("AAPL")
    first.state.late_ticks = 1
    store.save(first)
    second.state.late_ticks = 2
    with pytest.raises(VersionConflict, match=r"^AAPL$"):
        store.save(second)
    assert second.version == 1
    assert store.load("AAPL").state.late_ticks == 1 and raw_item()["version"] == {"N": "2"}


def test_two_first_saves_of_a_symbol_one_wins(table: str) -> None:
    store = StateStore(aws.client("dynamodb"), table)
    store.save(Stored(SymbolState("AAPL"), [OutboxEntry(an_alert(1), 0)]))
    with pytest.raises(VersionConflict):
        store.save(Stored(SymbolState("AAPL")))
    assert store.load("AAPL").outbox == [OutboxEntry(an_alert(1), 0)]


def test_errors_other_than_a_conflict_are_not_taken_for_one() -> None:
    store = StateStore(aws.client("dynamodb"), "no-such-table")
    with pytest.raises(ClientError) as raised:
        store.save(Stored(SymbolState("AAPL")))
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


class Rival:
    """A DynamoDB client with which another writer saves the symbol between each of our
    reads and our write, `times` times (a real conflict in the emulator each time)."""

    def __init__(self, times: int) -> None:
        self.real, self.times, self.puts = aws.client("dynamodb"), times, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def put_item(self, **kwargs: Any) -> Any:
        self.puts += 1
        if self.times:
            self.times -= 1
            StateStore(self.real, TABLE).update("AAPL", bump_rival)
        return self.real.put_item(**kwargs)


def bump_rival(stored: Stored) -> None:
    stored.state.outlier_ticks += 1


def add_late(stored: Stored) -> int:
    stored.state.late_ticks += 1
    return stored.state.outlier_ticks


def test_an_update_redoes_its_change_on_fresh_state_after_each_conflict(table: str) -> None:
    # GIVEN another writer that wins the race SAVE_ATTEMPTS - 1 times
    StateStore(aws.client("dynamodb"), table).save(Stored(SymbolState("AAPL")))
    rival = Rival(times=SAVE_ATTEMPTS - 1)
    # WHEN we update
    seen = StateStore(rival, table).update("AAPL", add_late)
    # THEN our change is applied once, on top of every rival write, and returns its last view
    stored = StateStore(aws.client("dynamodb"), table).load("AAPL")
    assert (stored.state.late_ticks, stored.state.outlier_ticks) == (1, SAVE_ATTEMPTS - 1)
    assert seen == SAVE_ATTEMPTS - 1 and stored.version == 1 + SAVE_ATTEMPTS
    assert rival.puts == SAVE_ATTEMPTS  # ours only: the rival writes with its own client


def test_an_update_gives_up_after_its_attempts(table: str) -> None:
    StateStore(aws.client("dynamodb"), table).save(Stored(SymbolState("AAPL")))
    rival = Rival(times=SAVE_ATTEMPTS)
    with pytest.raises(VersionConflict):
        StateStore(rival, table).update("AAPL", add_late)
    stored = StateStore(aws.client("dynamodb"), table).load("AAPL")
    assert (stored.state.late_ticks, stored.state.outlier_ticks) == (0, SAVE_ATTEMPTS)


def test_an_update_that_changes_nothing_writes_nothing(table: str) -> None:
    store = StateStore(aws.client("dynamodb"), table)
    store.save(Stored(a_state(), [OutboxEntry(an_alert(1), 9)]))
    rival = Rival(times=1)
    assert StateStore(rival, table).update("AAPL", lambda stored: len(stored.outbox)) == 1
    assert rival.puts == 0 and store.load("AAPL").version == 1


def test_an_update_of_a_new_symbol_creates_it(table: str) -> None:
    store = StateStore(aws.client("dynamodb"), table)
    store.update("AAPL", add_late)
    assert store.load("AAPL") == Stored(SymbolState("AAPL", late_ticks=1), [], 1)
