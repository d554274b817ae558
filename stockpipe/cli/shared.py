"""What every command shares: the consoles, the --verbose option, settings, the target."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from urllib.parse import urlsplit

import boto3
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from common.logs import setup_logging
from common.settings import Settings
from stockpipe import stack

err = Console(stderr=True)
out = Console()
log = logging.getLogger("stockpipe")

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")]

NO_LOCAL_STACK = (
    "no local stack: start `stockpipe up` in another shell (or set AWS_ENDPOINT_URL to an emulator)"
)
NO_TARGET = (
    "no AWS target: start `stockpipe up` for the local stack, set AWS_REGION (or "
    'AWS_PROFILE) for AWS, or eval "$(stockpipe env)" for a deployed stack'
)
NO_CREDENTIALS = (
    "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
    "or start `stockpipe up` for the local stack"
)


class UserError(Exception):
    """A mistake the user can fix; the message says how. One line, exit code 2."""


def fail(message: str) -> typer.Exit:
    """Print `error: message` as one line on stderr; raise the returned Exit."""
    err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(2)


def load_settings(verbose: bool, quiet: bool = False) -> Settings:
    try:
        settings = Settings()
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in e.errors()
        )
        raise fail(f"invalid STOCKPIPE_* configuration: {problems}") from e
    level = "DEBUG" if verbose else ("WARNING" if quiet else settings.log_level)
    setup_logging(level, settings.log_format)
    return settings


def check_reachable(endpoint: str, timeout: float = 2.0) -> None:
    """Fail at once when nothing listens at an explicit endpoint (boto3 would retry ~15 s)."""
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
    except OSError as e:
        raise UserError(
            f"nothing answers at {endpoint} (AWS_ENDPOINT_URL): start `stockpipe up`, "
            "or fix or unset AWS_ENDPOINT_URL"
        ) from e


def check_aws(region: str | None) -> None:
    """Fail before any output when real AWS has no region or no credentials configured.

    boto3 reads AWS_DEFAULT_REGION but not AWS_REGION (which the AWS CLI v2 and other SDKs
    read), so AWS_REGION is copied over when it is the only one set.
    """
    if os.environ.get("AWS_REGION") and not os.environ.get("AWS_DEFAULT_REGION"):
        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"]
    session = boto3.session.Session(region_name=region)
    if session.region_name is None:
        raise UserError(NO_TARGET)
    if session.get_credentials() is None:
        raise UserError(NO_CREDENTIALS)


def _use(found: stack.Target) -> None:
    if found.endpoint:
        check_reachable(found.endpoint)
        stack.use_endpoint(found.endpoint)


@contextmanager
def target(settings: Settings, *, allow_embedded: bool = False) -> Iterator[stack.Target]:
    """AWS_ENDPOINT_URL or a running `stockpipe up`; else an embedded stack, or real AWS."""
    found = stack.discover()
    if found.is_local or not allow_embedded:
        _use(found)
        if not found.is_local:
            check_aws(settings.region)
        yield found
        return
    with stack.local_stack(settings) as (endpoint, _resources):
        yield stack.Target(endpoint, "embedded")


@contextmanager
def local_target(settings: Settings, on_aws: str) -> Iterator[stack.Target]:
    """AWS_ENDPOINT_URL or a running `stockpipe up`, for commands that run there only."""
    found = stack.discover()
    if not found.is_local:
        raise UserError(f"{NO_LOCAL_STACK}; {on_aws}")
    _use(found)
    yield found
