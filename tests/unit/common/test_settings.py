from __future__ import annotations

import pytest
from pydantic import ValidationError

from common.settings import Settings


def test_symbols_from_the_environment_are_split_and_upper_cased(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOCKPIPE_SYMBOLS", " aapl, msft ,,brk-b")
    assert Settings().symbols == ("AAPL", "MSFT", "BRK-B")


def test_the_lease_table_cannot_be_the_ticks_table() -> None:
    with pytest.raises(ValidationError, match="must differ from ticks_table"):
        Settings(ticks_table="x", consumer_application="x")


def test_to_env_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(stream_name="s1", shard_count=3, symbols=("A", "B"), region="eu-west-1")
    for key, value in original.to_env().items():
        monkeypatch.setenv(key, value)
    assert Settings() == original
