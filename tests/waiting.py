"""Polling for a condition that other processes (daemons, containers) make true.

A condition that raises is never turned into a bare timeout: an exception the caller names in
`tolerate` means "not there yet" (a table or queue another process has still to create) and is
polled past, then raised as the cause of the timeout with its text in the message; any other
exception fails the wait at once with the real error.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from botocore.exceptions import ClientError, EndpointConnectionError

# an AWS resource, or the emulator itself, that another process has not brought up yet
AWS_NOT_READY: tuple[type[Exception], ...] = (ClientError, EndpointConnectionError)


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    tolerate: tuple[type[Exception], ...] = (),
    interval: float = 1.0,
) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            if condition():
                return
        except tolerate as e:
            last_error = e
        if time.monotonic() > deadline:
            detail = f"; last error: {last_error!r}" if last_error is not None else ""
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what}{detail}"
            ) from last_error
        time.sleep(interval)
