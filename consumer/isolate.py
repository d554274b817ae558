"""Poison isolation: apply a step to many items; when it fails, find the items that make it fail.

One bad record must not stop a shard, and a step that fails as a whole (a polars column build,
a Parquet encoding, a BatchWriteItem refused with ValidationException) says nothing about
which record is at fault. Bisection answers that in O(k log n) calls for k bad items among n,
always terminates (a single item either succeeds or is isolated), and costs nothing when the
step succeeds at once, which is the normal case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def bisect(
    items: Sequence[T],
    apply: Callable[[Sequence[T]], R],
    *,
    fault: type[Exception] | tuple[type[Exception], ...] = Exception,
) -> tuple[list[R], list[tuple[T, Exception]]]:
    """`apply` to all items, or to ever smaller halves after a `fault`.

    Returns the results of the parts that succeeded (in item order) and each item that fails on
    its own, with its exception. Exceptions that are not a `fault` (e.g. a retryable sink error)
    pass through: they say nothing about the items.
    """
    if not items:
        return [], []
    try:
        return [apply(items)], []
    except fault as e:
        if len(items) == 1:
            return [], [(items[0], e)]
    middle = len(items) // 2
    left_done, left_bad = bisect(items[:middle], apply, fault=fault)
    right_done, right_bad = bisect(items[middle:], apply, fault=fault)
    return left_done + right_done, left_bad + right_bad


def describe(error: BaseException) -> str:
    """An exception as a dead-letter reason: type and message, bounded, always valid UTF-8."""
    try:
        message = str(error)
    except Exception:  # a broken __str__ must not break the dead letter
        message = "<message unavailable>"
    text = f"{type(error).__name__}: {message}"[:500]
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
