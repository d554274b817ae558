"""Without a usable target every command says in one line what to do, and exits 2.

Each command runs as a user would start it: its own process, an empty environment (HOME an
empty folder, no AWS_* variables, no `stockpipe up` recorded).
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stockpipe.emulator import free_port
from tests.cli_process import stockpipe

# every command that talks to AWS or the emulator (up and demo start their own; cost is offline)
COMMANDS = [
    ["provision"],
    ["consume"],
    ["alerts"],
    ["trend"],
    ["subscribe", "email", "me@example.com"],
    ["query", "daily-ohlc"],
    ["produce", "--limit", "1"],
    ["env"],
    ["scale", "--shards", "2"],
    ["teardown", "--yes"],
]
AWS_COMMANDS = [["subscribe", "sms", "+14155550100"], ["query", "vwap"], ["scale", "--shards", "4"]]


def empty_env(home: Path, **variables: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), **variables}


REFUSED = f"http://127.0.0.1:{free_port()}"  # nothing listens there
CASES = {
    **{("no target", args[0]): (args, {}) for args in COMMANDS},
    **{("no credentials", a[0]): (a, {"AWS_REGION": "eu-west-1"}) for a in AWS_COMMANDS},
    **{("refused", args[0]): (args, {"AWS_ENDPOINT_URL": REFUSED}) for args in AWS_COMMANDS},
    ("unknown profile", "query"): (["query", "vwap"], {"AWS_PROFILE": "nosuch"}),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    """Every case's one stderr line; the processes run side by side (they mostly wait)."""
    home = tmp_path_factory.mktemp("empty-home")
    with ThreadPoolExecutor(max_workers=6) as pool:
        running = {
            case: pool.submit(stockpipe, *args, env=empty_env(home, **env))
            for case, (args, env) in CASES.items()
        }
        return {case: one_line(future.result()) for case, future in running.items()}


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [args[0] for args in COMMANDS])
def test_no_target_says_to_start_up_or_configure_aws(
    command: str, outcomes: dict[tuple[str, str], str]
) -> None:
    line = outcomes["no target", command]
    if command in ("provision", "trend"):  # these run on the local stack only
        assert line.startswith("error: no local stack: start `stockpipe up`")
    else:
        assert line == (
            "error: no AWS target: start `stockpipe up` for the local stack, set AWS_REGION "
            '(or AWS_PROFILE) for AWS, or eval "$(stockpipe env)" for a deployed stack'
        )


@pytest.mark.parametrize("command", [args[0] for args in AWS_COMMANDS])
def test_missing_credentials_say_how_to_set_them(
    command: str, outcomes: dict[tuple[str, str], str]
) -> None:
    assert outcomes["no credentials", command].startswith(
        "error: no AWS credentials: set AWS_PROFILE"
    )


@pytest.mark.parametrize("command", [args[0] for args in AWS_COMMANDS])
def test_a_refused_endpoint_is_named(command: str, outcomes: dict[tuple[str, str], str]) -> None:
    assert outcomes["refused", command] == (
        f"error: nothing answers at {REFUSED} (AWS_ENDPOINT_URL): start `stockpipe up`, "
        "or fix or unset AWS_ENDPOINT_URL"
    )


def test_an_unknown_profile_is_named(outcomes: dict[tuple[str, str], str]) -> None:
    line = outcomes["unknown profile", "query"]
    assert "nosuch" in line and "AWS_PROFILE" in line


def test_an_aws_refusal_is_one_line(aws_env: str) -> None:
    # GIVEN an emulator without the pipeline's resources WHEN tailing alerts
    line = one_line(stockpipe("alerts"))
    # THEN AWS's answer is the line (QueueDoesNotExist), with where to look
    assert "GetQueueUrl" in line and "does not exist" in line and "-v shows where" in line
