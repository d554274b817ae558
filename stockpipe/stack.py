"""The embedded local stack: the emulator, its resources, and how other commands find it.

`stockpipe up` records its endpoint in a state file; every other command looks there when
`AWS_ENDPOINT_URL` does not name an endpoint. Nothing here touches real AWS.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from common import aws
from common.settings import Settings
from stockpipe import emulator, history_snapshot
from stockpipe.provision import Resources, provision

log = logging.getLogger(__name__)

LOCAL_REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def state_dir() -> Path:
    """Where `stockpipe up` records its endpoint: STOCKPIPE_STATE_DIR or ~/.local/state."""
    configured = os.environ.get("STOCKPIPE_STATE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "stockpipe"


@dataclass(frozen=True)
class Target:
    """Where AWS calls go: an emulator endpoint, or None for real AWS."""

    endpoint: str | None
    origin: str  # "AWS_ENDPOINT_URL", "stockpipe up", "embedded", or "aws"

    @property
    def is_local(self) -> bool:
        return self.endpoint is not None


def running_stack_endpoint() -> str | None:
    """The endpoint recorded by a `stockpipe up` that still answers, else None."""
    path = state_dir() / "stack.json"
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    endpoint = recorded.get("endpoint")
    return endpoint if isinstance(endpoint, str) and emulator.is_alive(endpoint) else None


def discover() -> Target:
    """Explicit AWS_ENDPOINT_URL first, then a running `stockpipe up`, else real AWS."""
    explicit = os.environ.get("AWS_ENDPOINT_URL")
    if explicit:
        return Target(explicit, "AWS_ENDPOINT_URL")
    endpoint = running_stack_endpoint()
    if endpoint:
        return Target(endpoint, "stockpipe up")
    return Target(None, "aws")


def use_endpoint(endpoint: str) -> None:
    """Point every boto3 client of this process (and its children) at the emulator."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.setdefault("AWS_DEFAULT_REGION", LOCAL_REGION)
    for key, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(key, value)


@contextmanager
def local_stack(
    settings: Settings, *, port: int | None = None, record: bool = False
) -> Iterator[tuple[str, Resources]]:
    """Start an emulator, provision it, and (with `record`) publish it for other commands."""
    log_path = state_dir() / "emulator.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    emu = emulator.Emulator(port=port, log_path=log_path)
    endpoint = emu.start()
    state_file = state_dir() / "stack.json"
    history = state_dir() / "history"
    try:
        use_endpoint(endpoint)
        resources = provision(settings)
        if record:
            history_snapshot.restore(aws.client("s3"), settings.bucket, history)
            state_file.write_text(json.dumps({"endpoint": endpoint, "pid": emu.pid}))
        yield endpoint, resources
        if record:  # a clean stop: replace the saved history with the current one
            fresh = history.with_name("history.new")
            shutil.rmtree(fresh, ignore_errors=True)
            history_snapshot.save(aws.client("s3"), settings.bucket, fresh)
            shutil.rmtree(history, ignore_errors=True)
            fresh.rename(history)
    finally:
        if record:
            state_file.unlink(missing_ok=True)
        emu.stop()
