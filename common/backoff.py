"""Retry delays: exponential back-off with full jitter (AWS Architecture Blog's advice)."""

from __future__ import annotations

import random
from collections.abc import Callable


def full_jitter(
    attempt: int, *, base_s: float, cap_s: float, jitter: Callable[[], float] = random.random
) -> float:
    """Uniform in [0, min(cap, base * 2^attempt)): spreads retries of many clients apart."""
    return float(min(cap_s, base_s * 2**attempt) * jitter())
