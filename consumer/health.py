"""Container health check: healthy while a KCL MultiLangDaemon process is running."""

from __future__ import annotations

import sys
from pathlib import Path


def daemon_running(proc: Path = Path("/proc")) -> bool:
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                if b"MultiLangDaemon" in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False


if __name__ == "__main__":
    sys.exit(0 if daemon_running() else 1)
