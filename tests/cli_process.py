"""Run `stockpipe` as a user does: its own process, the environment given."""

from __future__ import annotations

import os
import subprocess
import sys

STOCKPIPE = [sys.executable, "-m", "stockpipe"]


def stockpipe(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The finished command (not checked); `env` None means this process's environment."""
    return subprocess.run(
        [*STOCKPIPE, *args],
        env=dict(os.environ) if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
