"""Engine signals as alerts of the one contract in `common.alerts`."""

from __future__ import annotations

from dataclasses import asdict

from common.alerts import Alert
from common.alerts import Signal as Side
from lambdas.trend.engine import Signal


def to_alert(signal: Signal) -> Alert:
    side: Side = "BUY" if signal.signal == "BUY" else "SELL"
    return Alert(
        symbol=signal.symbol,
        signal=side,
        fast=signal.fast,
        slow=signal.slow,
        bar_time=signal.bar_time,
        bar_start_ms=signal.bar_start_ms,
        price=float(signal.price),
        indicators=asdict(signal.indicators),
    )
