"""Drain cost of this tree's consumer against another commit's, in one run (same load).

    .venv/bin/python -m bench.drain_vs_commit [--commit 1173372] [--ticks 20000] [--shards 4]

The commit's tree is unpacked with `git archive` into a temporary folder and its consumer run
from there (its local driver and `make_processor` per shard, as its `stockpipe consume` did);
this tree's runs as `bench/drain_child.py`. Each drains its own fresh stream of the same
size; CPU from wait4 of the consumer process; the BatchWriteItem ceiling right after each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import drain_bench
from bench.consumer_bench import save
from common.settings import Settings
from stockpipe import emulator, stack
from stockpipe.provision import provision

# the consumer of another commit, as its `stockpipe consume` ran it: one sink per process
# where processor_factory exists, else one processor (and its clients) per shard
OLD_CHILD = """
import sys, threading, time
from common.settings import ConsumerSettings
from consumer import app
from consumer.local_driver import driver_for

n = int(sys.argv[1])
settings = ConsumerSettings()
factory = getattr(app, "processor_factory", None)
driver = driver_for(
    settings, factory(settings) if factory else lambda: app.make_processor(settings)
)
stop = threading.Event()

def stop_when_drained():
    while driver.records_delivered < n:
        time.sleep(0.02)
    stop.set()

threading.Thread(target=stop_when_drained, daemon=True).start()
driver.run(stop)
"""


def drain(name: str, argv: list[str], cwd: str, n: int, shards: int) -> dict[str, Any]:
    settings = Settings(
        shard_count=shards,
        stream_name=f"cmp-{name}",
        ticks_table=f"cmp-{name}-ticks",
        bucket=f"cmp-{name}",
        consumer_application=f"cmp-{name}-consumer",
    )
    provision(settings)
    drain_bench.fill(settings, n)
    env = {**os.environ, **settings.to_env(), "PYTHONPATH": cwd}
    result = drain_bench.measure(argv, env, cwd=cwd)
    result["ceiling_items_per_s"] = drain_bench.batch_write_ceiling(settings.ticks_table)
    result["vs_ceiling"] = n / result["wall_s"] / result["ceiling_items_per_s"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", default="1173372")
    parser.add_argument("--ticks", type=int, default=20_000)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args()
    result: dict[str, Any] = {"load_before": os.getloadavg(), **vars(args)}
    with tempfile.TemporaryDirectory(prefix="drain-vs-") as old, emulator.Emulator() as emu:
        archive = subprocess.run(
            ["git", "archive", args.commit], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        (Path(old) / "old_child.py").write_text(OLD_CHILD)
        stack.use_endpoint(emu.endpoint)
        n = str(args.ticks)
        result[args.commit] = drain(
            "old", [sys.executable, "old_child.py", n], old, args.ticks, args.shards
        )
        result["this_tree"] = drain(
            "new",
            [sys.executable, "-m", "bench.drain_child", n],
            str(Path.cwd()),
            args.ticks,
            args.shards,
        )
    result["load_after"] = os.getloadavg()
    save(f"drain-vs-{args.commit}", result)


if __name__ == "__main__":
    main()
