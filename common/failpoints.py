"""Named crash points for tests: `STOCKPIPE_FAILPOINT=<name>` makes the process exit at once
(`os._exit`, no cleanup, like SIGKILL) when it reaches that point, so a test can stop a worker
exactly between two steps instead of guessing the moment with a sleep. Unset: a no-op."""

from __future__ import annotations

import logging
import os
import sys

ENV = "STOCKPIPE_FAILPOINT"
EXIT_CODE = 86  # tells the test the process died at its failpoint, not of something else

log = logging.getLogger(__name__)


def hit(name: str) -> None:
    if os.environ.get(ENV) == name:
        log.critical("failpoint %s: exiting", name)
        sys.stderr.flush()
        os._exit(EXIT_CODE)
