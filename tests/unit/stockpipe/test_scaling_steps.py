"""GIVEN a shard count and a target WHEN planning UpdateShardCount calls THEN each call at most
doubles or halves the open shards and the last one reaches the target."""

from __future__ import annotations

import math

import pytest

from stockpipe.scaling import ScaleError, shard_steps


@pytest.mark.parametrize(
    ("current", "target", "steps"),
    [
        (2, 4, [4]),
        (2, 8, [4, 8]),
        (3, 7, [6, 7]),
        (8, 1, [4, 2, 1]),
        (5, 2, [3, 2]),
        (4, 4, []),
        (1, 500, [2, 4, 8, 16, 32, 64, 128, 256, 500]),
    ],
)
def test_steps_stay_within_double_and_half(current: int, target: int, steps: list[int]) -> None:
    assert shard_steps(current, target) == steps
    previous = current
    for step in steps:
        assert math.ceil(previous / 2) <= step <= 2 * previous
        previous = step


@pytest.mark.parametrize("target", [0, 501])
def test_targets_outside_the_quota_are_refused(target: int) -> None:
    with pytest.raises(ScaleError, match="between 1 and 500"):
        shard_steps(2, target)
