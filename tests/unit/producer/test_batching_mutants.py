"""Batch limits after the first call, and the refusal's reason (mutation testing found these
unchecked, docs/testing.md)."""

from __future__ import annotations

import pytest

from producer.batching import MAX_BYTES_PER_CALL, MAX_BYTES_PER_RECORD, RecordTooLarge, batches
from tests.unit.producer.test_batching import entries


def test_every_call_after_the_first_also_fills_exactly_5_mib() -> None:
    # GIVEN ten records of exactly 1 MiB (data + key) WHEN batched THEN two full calls
    result = list(batches(entries(10, size=MAX_BYTES_PER_CALL // 5)))
    assert [len(b) for b in result] == [5, 5]
    assert [sum(e.size for e in b) for b in result] == [MAX_BYTES_PER_CALL] * 2


def test_a_record_too_large_is_refused_with_its_size_and_the_limit() -> None:
    with pytest.raises(RecordTooLarge, match=r"^record of 1048577 bytes exceeds 1048576$"):
        list(batches(entries(1, size=MAX_BYTES_PER_RECORD + 1)))
