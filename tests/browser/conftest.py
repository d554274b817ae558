"""The browser tier: Debian's Chromium (headless) driven by Playwright, against the real
`stockpipe dashboard` command serving a local stack. Playwright's own browser download needs
the internet, so it runs the system browser (`make chromium` installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.dashboard_stack import DemoStack, demo_stack
from tests.waiting import wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / ".cache" / "browser-artifacts"


def launch(playwright: Playwright) -> Browser:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's package")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    with demo_stack(tmp_path_factory.mktemp("browser")) as demo:
        yield demo


def start_dashboard(log: Path) -> tuple[subprocess.Popen[str], str]:
    """`stockpipe dashboard` as a user runs it; returns the process and the URL it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stockpipe", "dashboard"],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=os.environ.copy(),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("dashboard on http://127.0.0.1:"), line or log.read_text()
    url = line.split()[2]
    wait_for(lambda: _answers(url + "api/symbols"), 30, "the dashboard server")
    return process, url


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def dashboard_url(stack: DemoStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_dashboard(tmp_path_factory.mktemp("dashboard") / "dashboard.log")
    yield url
    process.terminate()
    process.wait(timeout=30)
