"""The browser tier: Debian's Chromium (headless) driven by Playwright, against the real
`stockpipe dashboard` command serving a local stack. Playwright's own browser download needs
the internet, so it runs the system browser (`make chromium` installs it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.dashboard_stack import DemoStack, demo_stack, launch, start_dashboard

ARTIFACTS = Path(__file__).resolve().parents[2] / ".cache" / "browser-artifacts"


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


@pytest.fixture(scope="module")
def dashboard_url(stack: DemoStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_dashboard(tmp_path_factory.mktemp("dashboard") / "dashboard.log")
    yield url
    process.terminate()
    process.wait(timeout=30)
