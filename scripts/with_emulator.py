"""Run a command with one AWS emulator for its whole life, named in STOCKPIPE_TEST_EMULATOR.

`make mutation` runs a pytest session per mutant; the emulator tests in it (the sinks'
integration tests) reuse this one instead of starting their own (~4 s each) every time.

    python scripts/with_emulator.py COMMAND [ARG ...]
"""

from __future__ import annotations

import os
import subprocess
import sys

from stockpipe.emulator import Emulator


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with Emulator() as emulator:
        env = {**os.environ, "STOCKPIPE_TEST_EMULATOR": emulator.endpoint}
        return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
