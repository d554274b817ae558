"""Trend engine benchmark: what one symbol's batch costs the Lambda, without AWS.

    .venv/bin/python -m bench.trend_bench [--ticks 100000] [--batch 100]

Part 1: per batch the handler loads the state JSON, folds the ticks (exact decimal SMAs, one
tick at a time), and saves the state JSON; this times those three, on a cent-rounded random
walk with 3 ticks a 1-minute bar, and reports the largest state item (DynamoDB allows 400 KB).
Part 2: how often SMAs of floats (the engine before exact values) disagree with the engine on
1 000 cent-rounded, low-volatility series of 200 bars (the unit tests check the engine
against a fraction reference).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from decimal import Decimal
from pathlib import Path

import orjson

from bench.producer_bench import machine
from lambdas.trend.engine import SymbolState, TickIn, TrendConfig, apply

T0 = 1_763_996_400_000


def ticks(n: int, seed: int = 7) -> list[TickIn]:
    rng, cents, out = random.Random(seed), 10_000, []
    for i in range(n):
        cents = max(1, cents + rng.choice((-2, -1, 0, 0, 0, 1, 2)))
        out.append(TickIn(f"t{i}", T0 + i * 20_000, Decimal(cents).scaleb(-2), 100))
    return out


def run(n: int, batch: int) -> dict[str, object]:
    config, stream = TrendConfig(hysteresis=0.001, cooldown_bars=2), ticks(n)
    blob = orjson.dumps(SymbolState("AAPL").to_json_dict())
    largest, signals = 0, 0
    started = time.perf_counter()
    for i in range(0, n, batch):
        state = SymbolState.from_json_dict(orjson.loads(blob))
        signals += len(apply(state, stream[i : i + batch], config))
        blob = orjson.dumps(state.to_json_dict())
        largest = max(largest, len(blob))
    elapsed = time.perf_counter() - started
    return {
        "machine": machine(),
        "ticks": n,
        "batch": batch,
        "ticks_per_s": round(n / elapsed),
        "ms_per_batch": round(elapsed / (n / batch) * 1000, 2),
        "largest_state_bytes": largest,
        "alerts": signals,
    }


def float_rule(closes: list[Decimal], fast: int = 5, slow: int = 20) -> set[tuple[int, str]]:
    """The crossovers of float SMAs, as the engine computed them before exact values."""
    side, out, values = None, set(), [float(c) for c in closes]
    for i in range(slow - 1, len(values)):
        a = sum(values[i + 1 - fast : i + 1]) / fast
        b = sum(values[i + 1 - slow : i + 1]) / slow
        new = "above" if a > b else "below" if a < b else side
        if side and new != side:
            out.add((i, "BUY" if new == "above" else "SELL"))
        side = new
    return out


def exactness(series: int = 1000, bars: int = 200, seed: int = 1) -> dict[str, int]:
    rng, alerts, disagreements = random.Random(seed), 0, 0
    for _ in range(series):
        cents, closes = rng.randint(100, 50_000), []
        for _ in range(bars):
            cents = max(1, cents + rng.choice((0, 0, 0, 0, 1, -1, 2, -2)))
            closes.append(Decimal(cents).scaleb(-2))
        state, engine = SymbolState("X"), set()
        for i, close in enumerate(closes):
            tick = TickIn(f"b{i}", T0 + i * 60_000 + 30_000, close, 1)
            engine |= {
                ((s.bar_start_ms - T0) // 60_000, s.signal)
                for s in apply(state, [tick], TrendConfig())
            }
        closed = {a for a in float_rule(closes) if a[0] < state.bars_closed}
        alerts += len(engine)
        disagreements += len(engine ^ closed)
    return {"series": series, "engine_alerts": alerts, "float_rule_disagreements": disagreements}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    result = run(args.ticks, args.batch) | {"exactness": exactness()}
    out = Path(__file__).parent / "results" / "trend.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
