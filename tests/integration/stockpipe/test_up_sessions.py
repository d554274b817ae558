"""`stockpipe up` restarted: the emulator's new stream reuses shard ids and restarts sequence
numbers at 1, yet the history of every session survives (object keys carry arrival time)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from common import aws
from stockpipe import inventory
from tests.integration.stockpipe.test_cli import env_without_endpoint, run, start_up


def test_history_of_two_up_sessions_survives_a_third_start(tmp_path: Path) -> None:
    env = env_without_endpoint()
    log = tmp_path / "up.log"

    def session(ticks: int, seed: int = 0) -> tuple[list[str], int]:
        """One `up` session: keys restored at start, and the demo's row count if it ran."""
        up, endpoint = start_up(env, log)
        try:
            s3 = aws.client("s3", endpoint_url=endpoint)
            restored = sorted(inventory.keys(s3, "stockpipe-history", "ticks/"))
            stored = 0
            if ticks:
                demo = run(["demo", "--ticks", str(ticks), "--seed", str(seed), "--json"], env)
                assert demo.returncode == 0, demo.stderr
                stored = json.loads(demo.stdout)["s3_rows"]
            rows = inventory.parquet_frame(s3, "stockpipe-history", ["id"])["id"].to_list()
        finally:
            up.send_signal(signal.SIGINT)
            assert up.wait(timeout=60) == 0
        assert len(rows) == len(set(rows)), "a tick is stored twice"
        return restored, stored if ticks else len(rows)

    # GIVEN two sessions, each running the demo on a fresh stream (same shard ids, seq from 1)
    _, first = session(300, seed=1)  # other seeds: other quotes, other tick ids
    restored, second = session(300, seed=2)
    assert restored, "the first session's history was not restored"
    # WHEN `up` starts a third time
    _, total = session(0)
    # THEN both sessions' rows are there: none overwritten by the other's keys
    assert first == second == 300
    assert total == 600
