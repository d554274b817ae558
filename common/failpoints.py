"""Named crash points for tests: `STOCKPIPE_FAILPOINT=<name>` makes the process exit at once
(`os._exit`, no cleanup, like SIGKILL) when it reaches that point, so a test can stop a worker
exactly between two steps instead of guessing the moment with a sleep. `<name>@<n>` exits at
the n-th time the process reaches it (after n-1 complete rounds). Unset: a no-op.

`POINTS` is the one list of names (docs/testing.md shows it; a unit test checks that the code's
`hit` calls and the page name exactly these). In-process tests use `crashing`, which raises
`Crash` instead of exiting.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "STOCKPIPE_FAILPOINT"
EXIT_CODE = 86  # tells the test the process died at its failpoint, not of something else

# name -> what is durable, and what is not, when a process stops there
POINTS = {
    "consumer-after-hot-write": (
        "a GetRecords batch is in DynamoDB (ticks, latest quotes); its rows are in no cold "
        "flush yet, nothing of it is in S3 or checkpointed"
    ),
    "consumer-after-history-parquet": (
        "a cold flush's Parquet objects are in S3; its dead letters are not; not checkpointed"
    ),
    "consumer-after-cold-flush": (
        "a cold flush's Parquet objects and dead letters are in S3; not checkpointed"
    ),
    "trend-after-save": "an alert is recorded in the trend state's outbox; not published",
    "trend-after-publish": "an alert is published to SNS; still in the outbox",
}

log = logging.getLogger(__name__)


class Crash(BaseException):
    """Raised by `hit` inside `crashing`: a BaseException, so the code under test cannot catch
    it in an `except Exception` (its exit-on-failure wrappers), as it cannot catch a kill."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


_armed: dict[str, int] = {}  # name -> n, set by `crashing`
_reached: Counter[str] = Counter()


def hit(name: str) -> None:
    nth = _armed.get(name) if _armed else _from_env(name)
    if nth is None:
        return
    _reached[name] += 1
    if _reached[name] < nth:
        return
    if _armed:
        raise Crash(name)
    log.critical("failpoint %s: exiting (reached %d time(s))", name, _reached[name])
    sys.stderr.flush()
    os._exit(EXIT_CODE)


def _from_env(name: str) -> int | None:
    """n if the environment arms `name` (`name` or `name@n`), else None."""
    value = os.environ.get(ENV)
    if not value:
        return None
    armed, _, nth = value.partition("@")
    return int(nth or 1) if armed == name else None


@contextmanager
def crashing(name: str, nth: int = 1) -> Iterator[None]:
    """Within the block, the n-th hit of `name` raises Crash (in-process crash tests)."""
    if name not in POINTS:
        raise ValueError(f"no failpoint {name!r}; known: {', '.join(POINTS)}")
    _armed.clear()
    _armed[name] = nth
    _reached.clear()
    try:
        yield
    finally:
        _armed.clear()
        _reached.clear()
