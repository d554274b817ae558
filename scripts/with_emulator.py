"""Run a command with one AWS emulator for every pytest session it starts.

`make mutation` runs a pytest session per mutant; starting an emulator in each would cost
seconds per mutant. The tests use the one named in SHARED_EMULATOR instead
(tests/aws_fixtures.py) and reset it before each test, so the sessions must run one at a
time (`mutmut run --max-children 1`).

    python scripts/with_emulator.py COMMAND [ARG ...]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stockpipe.emulator import Emulator
from tests.aws_fixtures import SHARED_EMULATOR


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with Emulator() as emulator:
        env = {**os.environ, SHARED_EMULATOR: emulator.endpoint}
        return subprocess.run(argv, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
