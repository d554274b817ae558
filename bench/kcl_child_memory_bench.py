"""What a KCL shard child (`python -m consumer.kcl_app`) holds in memory before its first
record, import by import, and which heavy libraries its first batch needs.

    .venv/bin/python -m bench.kcl_child_memory_bench

Each step runs in a fresh interpreter: VmRSS after importing the modules named, and whether
polars / pyarrow / boto3 are then loaded. The last step builds one batch of ticks the way the
hot path does (`consumer.batch.build_batch`), which is what every child does on its first
GetRecords result: if polars were imported lazily, this is where it would load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.producer_bench import machine

PROBE = """
import sys, json
{code}
rss = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:'))
heavy = [m for m in ('polars', 'pyarrow', 'boto3', 'botocore', 'numpy') if m in sys.modules]
print(json.dumps({{'rss_mb': round(rss / 1024, 1), 'loaded': heavy}}))
"""

FIRST_BATCH = """
import time
from consumer.batch import InRecord, PriceMemory, build_batch
from tests.factories import ticks
records = [InRecord(t.encode(), str(i), 0, int(time.time() * 1000), t.symbol)
           for i, t in enumerate(ticks(100))]
build_batch(records, "shardId-000000000000", PriceMemory())
"""

STEPS = {
    "interpreter": "",
    "boto3": "import boto3",
    "polars": "import polars",
    "boto3 + polars": "import boto3, polars",
    "the child's imports (consumer.kcl_app)": "import consumer.kcl_app",
    "... and its first batch": "import consumer.kcl_app\n" + FIRST_BATCH,
}


def probe(code: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def main() -> None:
    results: dict[str, Any] = {"machine": machine()}
    for name, code in STEPS.items():
        results[name] = probe(code)
        print(f"{name:42} {results[name]}", flush=True)
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "kcl_child_memory.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
