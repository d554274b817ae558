"""The CLI runs with what each install has: no kclpy (producer, emulator and trend images),
no `local` extra (moto, Hypercorn, DuckDB, sqlglot), no `deploy` extra (CDK).

Each check runs in a fresh interpreter whose import system refuses the modules of one extra
(a meta-path finder that raises for them, as a missing package would), so what the base
install can do is what passes here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

KCLPY = ("amazon_kclpy",)
LOCAL_EXTRA = ("moto", "hypercorn", "duckdb", "sqlglot", "werkzeug", "flask")
DEPLOY_EXTRA = ("aws_cdk", "constructs")

BLOCK = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Missing())
"""
RUN_CLI = """
import json
from typer.testing import CliRunner
from stockpipe.cli import app
for args in {runs!r}:
    result = CliRunner().invoke(app, args)
    print(json.dumps([result.exit_code, result.stdout, result.stderr]))
"""


def without(
    blocked: tuple[str, ...], code: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "STOCKPIPE_STATE_DIR": str(tmp_path / "state"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-c", BLOCK.format(blocked=blocked) + code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def cli(blocked: tuple[str, ...], runs: list[list[str]], tmp_path: Path) -> list[list[Any]]:
    """[exit code, stdout, stderr] of each command line, run in one interpreter."""
    result = without(blocked, RUN_CLI.format(runs=runs), tmp_path)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_cli_producer_and_trend_import_without_amazon_kclpy(tmp_path: Path) -> None:
    code = "import stockpipe.cli, producer.__main__, lambdas.trend.handler, stockpipe.trend_local"
    result = without(KCLPY, code, tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_blocker_makes_the_modules_missing(tmp_path: Path) -> None:
    # the guard itself works: an import of a blocked module fails as if not installed
    result = without(LOCAL_EXTRA, "import duckdb", tmp_path)
    assert result.returncode == 1 and "ModuleNotFoundError" in result.stderr


HELP = [["--help"], *([command, "--help"] for command in ("cost", "query", "scale", "env"))]


@pytest.mark.parametrize("blocked", [LOCAL_EXTRA, DEPLOY_EXTRA], ids=["local", "deploy"])
def test_help_and_the_aws_commands_work_without_the_extra(
    blocked: tuple[str, ...], tmp_path: Path
) -> None:
    *helps, estimate, athena = cli(
        blocked,
        [*HELP, ["cost", "--symbols", "5"], ["query", "daily-ohlc", "--engine", "athena"]],
        tmp_path,
    )
    for args, (code, out, err) in zip(HELP, helps, strict=True):
        assert code == 0 and "Usage" in out, (args, err)
    assert estimate[0] == 0 and "total" in estimate[1], estimate
    # an Athena query gets as far as needing an AWS target: nothing failed to import
    code, _out, err = athena
    assert code == 2 and err.startswith("error: no AWS target"), athena


def test_the_local_stack_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    [(code, _out, err)] = cli(LOCAL_EXTRA, [["demo", "--ticks", "10"]], tmp_path)
    assert code == 2
    assert err.splitlines() == [
        "error: the local stack needs the `local` extra (moto, hypercorn missing): "
        "pip install 'stockpipe[local]'"
    ]
