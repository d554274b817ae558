"""Every command's errors that a user can fix become one line and exit code 2.

Registered commands are wrapped here (`guarded`), so a new command gets the same treatment:
no target (no `stockpipe up`, no region), no credentials, a refused endpoint, and the
pipeline's own errors print one `error:` line that says what to do, never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from consumer.daemon import DaemonError
from producer.publisher import StreamNotFound
from stockpipe.cli.shared import NO_CREDENTIALS, NO_TARGET, UserError, fail, log
from stockpipe.deployment import DeploymentNotFound, TeardownFailed
from stockpipe.emulator import EmulatorError
from stockpipe.history.athena import AthenaQueryFailed
from stockpipe.trend_local import TopicNotFound

Command = TypeVar("Command", bound=Callable[..., Any])

CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
    }
)
# the pipeline's own errors: their messages already say what went wrong and what to do
STATED = (
    UserError,
    StreamNotFound,
    TopicNotFound,
    DeploymentNotFound,
    TeardownFailed,
    EmulatorError,
    DaemonError,
    AthenaQueryFailed,
    FileNotFoundError,
    TimeoutError,
    ValueError,
)


def message(e: Exception) -> str | None:
    """The one line for a user-fixable error, or None for a bug (left to raise).

    Any answer from AWS (ClientError) counts: a missing permission, resource or region is
    the user's to fix, and `--verbose` still logs the traceback.
    """
    if isinstance(e, NoRegionError):
        return NO_TARGET
    if isinstance(e, NoCredentialsError | PartialCredentialsError):
        return NO_CREDENTIALS
    if isinstance(e, ProfileNotFound):
        return f"{e}: check AWS_PROFILE and ~/.aws/config"
    if isinstance(e, EndpointConnectionError):
        return f"{e}: start `stockpipe up`, or check AWS_ENDPOINT_URL / AWS_REGION"
    if isinstance(e, ClientError):
        if e.response.get("Error", {}).get("Code") in CREDENTIAL_CODES:
            return f"AWS refused the credentials ({e}): check AWS_PROFILE or the keys"
        return f"{e} (AWS_REGION, the account or a missing resource? -v shows where)"
    if isinstance(e, StreamNotFound):
        return (
            f"{e}. Start the local stack with `stockpipe up`, or deploy the stack "
            "(docs/deploy.md), or set STOCKPIPE_STREAM_NAME."
        )
    if isinstance(e, STATED):
        return " ".join(str(e).split())  # one line, whatever the exception wrapped
    return None


def guarded(command: Command) -> Command:
    """`command` with user-fixable errors turned into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except Exception as e:
            line = message(e)
            if line is None:
                raise
            log.debug("the error in full", exc_info=e)  # with --verbose
            raise fail(line) from e

    return run  # type: ignore[return-value]
