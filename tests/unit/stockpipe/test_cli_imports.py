"""The producer, emulator and trend images have no amazon-kclpy: the CLI must not need it."""

from __future__ import annotations

import subprocess
import sys

GUARD = """
import builtins
real = builtins.__import__
def guard(name, *args, **kwargs):
    if name.split(".")[0] == "amazon_kclpy":
        raise ImportError("imported " + name)
    return real(name, *args, **kwargs)
builtins.__import__ = guard
import stockpipe.cli, producer.__main__, lambdas.trend.handler, stockpipe.trend_local
"""


def test_cli_producer_and_trend_import_without_amazon_kclpy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", GUARD], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
