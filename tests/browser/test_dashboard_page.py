"""The dashboard page in a real headless Chromium, against a local stack and a demo run.

GIVEN a fresh local stack, `stockpipe dashboard` running and a page open on it
WHEN the demo runs (2000 ticks, 5 symbols, 4 malformed records)
THEN the open page follows it without a reload (each alert's publish -> visible time is
measured), and a page opened afterwards shows the same: a chart per symbol with the stored
minutes, SMA lines and markers equal to the published alerts, the feed equal to the SQS
messages, health equal to the demo's summary. Bad input and a stack that goes away are
shown on the page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from stockpipe.demo import DemoReport, run_demo
from tests.dashboard_stack import FEED, DemoStack, alert_key, minute_bars, open_page
from tests.waiting import wait_for

DEMO_TICKS = 2000
CHARTS = """() => Object.fromEntries(Object.entries(window.dashboard.charts).map(([s, c]) => [s, {
  bars: c.candles.data(), fast: c.fast.data(), slow: c.slow.data(), markers: c.markers.markers(),
}]))"""


@pytest.fixture(scope="module")
def run(
    browser: Browser, dashboard_url: str, stack: DemoStack
) -> Iterator[tuple[Page, DemoReport]]:
    """The page open before the demo; the demo's report once the page shows every alert."""
    page = open_page(browser, dashboard_url)
    page.evaluate("window.sameDocument = true")
    report = run_demo(stack.settings, ticks=DEMO_TICKS)
    observed = stack.observe()
    wait_for(
        lambda: len(page.evaluate(FEED)) == len(observed),
        30,
        "every alert on the open page",
    )
    yield page, report
    page.close()


@pytest.fixture(scope="module")
def fresh(browser: Browser, dashboard_url: str, run: tuple[Page, DemoReport]) -> Iterator[Page]:
    page = open_page(browser, dashboard_url)
    page.wait_for_function("document.querySelector('#h-ticks-loaded').textContent !== '\\u2013'")
    yield page
    page.close()


def test_every_demo_symbol_has_a_chart_of_its_stored_minutes(stack: DemoStack, fresh: Page) -> None:
    charts = fresh.evaluate(CHARTS)
    history = stack.history()
    assert sorted(charts) == sorted(stack.settings.symbols)
    for symbol, chart in charts.items():
        expected = minute_bars(history, symbol)
        assert [{k: b[k] for k in ("time", "open", "high", "low", "close")} for b in expected] == [
            {k: b[k] for k in ("time", "open", "high", "low", "close")} for b in chart["bars"]
        ]


def test_sma_lines_and_markers_match_the_published_alerts(
    stack: DemoStack, run: tuple[Page, DemoReport], fresh: Page
) -> None:
    _, report = run
    charts = fresh.evaluate(CHARTS)
    assert len(stack.observed) == report.alerts > 0
    for symbol, chart in charts.items():
        alerts = sorted(
            (body for _, body in stack.observed if body["symbol"] == symbol),
            key=lambda a: a["bar_start_ms"],
        )
        assert [(m["time"], m["text"]) for m in chart["markers"]] == [
            (a["bar_start_ms"] // 1000, a["signal"]) for a in alerts
        ]
        fast = {p["time"]: p["value"] for p in chart["fast"]}
        slow = {p["time"]: p["value"] for p in chart["slow"]}
        for alert in alerts:
            at = alert["bar_start_ms"] // 1000
            assert fast[at] == pytest.approx(alert["indicators"]["sma_fast"], abs=1e-6)
            assert slow[at] == pytest.approx(alert["indicators"]["sma_slow"], abs=1e-6)


def test_the_feed_is_the_messages_on_the_sqs_subscription_newest_first(
    stack: DemoStack, fresh: Page
) -> None:
    feed = fresh.evaluate(FEED)
    assert [item["key"] for item in feed] == [
        alert_key(body) for _, body in reversed(stack.observed)
    ]
    for item, (_, body) in zip(feed, reversed(stack.observed), strict=True):
        assert body["rule"] in item["text"]
        assert f"{body['price']:.2f}" in item["text"]
        assert body["bar_time"].replace("+00:00", "Z") in item["text"]


def test_health_matches_the_demo_summary(run: tuple[Page, DemoReport], fresh: Page) -> None:
    _, report = run

    def text(element: str) -> str:
        return str(fresh.text_content(f"#{element}"))

    assert int(text("h-ticks-loaded")) == report.dynamodb_rows == DEMO_TICKS
    assert int(text("h-dead-letters")) == report.dead_letters == 4
    assert text("h-alerts").startswith(f"{report.alerts} (")
    assert fresh.locator("#h-shards tbody tr").count() == 2
    assert fresh.locator("#h-dead-reasons li").count() == 4


def test_the_open_page_followed_the_demo_without_a_reload(
    stack: DemoStack, run: tuple[Page, DemoReport], fresh: Page, artifacts: Path
) -> None:
    page, report = run
    assert page.evaluate("window.sameDocument === true")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    live, loaded = page.evaluate(CHARTS), fresh.evaluate(CHARTS)
    for symbol in stack.settings.symbols:
        assert live[symbol]["bars"] == loaded[symbol]["bars"]
        assert live[symbol]["markers"] == loaded[symbol]["markers"]
    shown = {item["key"]: item["shownMs"] for item in page.evaluate(FEED)}
    latencies = sorted(shown[alert_key(body)] - published for published, body in stack.observed)
    p50, p95 = latencies[len(latencies) // 2], latencies[int(0.95 * (len(latencies) - 1))]
    (artifacts / "alert-latency.json").write_text(
        json.dumps({"alerts": len(latencies), "p50_ms": p50, "p95_ms": p95, "ms": latencies})
    )
    print(f"publish -> visible: {len(latencies)} alerts, p50 {p50} ms, p95 {p95} ms")
    assert len(latencies) == report.alerts
    assert latencies[0] >= 0 and latencies[-1] < 5000


def test_history_shows_a_day_or_says_why_not(
    stack: DemoStack, fresh: Page, artifacts: Path
) -> None:
    day = (
        datetime.fromtimestamp(max(stack.history()["event_time_ms"]) / 1000, UTC).date().isoformat()
    )

    def show(symbol: str, date: str) -> str:
        fresh.fill("#history-symbol", symbol)
        fresh.fill("#history-date", date)
        fresh.click("#history-form button")
        fresh.wait_for_function(
            "document.querySelector('#history-message').textContent !== 'querying…'"
        )
        return str(fresh.text_content("#history-message"))

    assert show("ZZZZ", day) == f"no history for ZZZZ on {day}"
    assert show("AAPL", "2001-01-01") == "no history for AAPL on 2001-01-01"
    assert show("aapl", day) == ""
    assert str(fresh.text_content("#history-ohlc")).startswith(f"AAPL {day}: open ")
    assert fresh.evaluate("window.dashboard.history.data().length") > 0
    fresh.screenshot(path=artifacts / "dashboard.png", full_page=True)  # the README's picture
    assert (artifacts / "dashboard.png").stat().st_size > 50_000


def test_a_stack_that_goes_away_is_shown_and_the_server_keeps_serving(
    stack: DemoStack, fresh: Page
) -> None:
    stack.emulator.stop()
    fresh.wait_for_function(
        "document.querySelector('#status').dataset.ok === 'false'", timeout=60_000
    )
    assert "the stack is not answering" in str(fresh.text_content("#status"))
    assert fresh.evaluate("fetch('/api/symbols').then(r => r.status)") == 200
