"""Dashboard benchmark: alert publish -> visible in the browser, server CPU and memory with
five pages open during a demo, and the page's weight on first load.

    .venv/bin/python -m bench.dashboard_bench [--pages 5] [--ticks 5000]

A fresh emulator (provisioned like `stockpipe up`, plus an observer queue on the alerts
topic), the real `stockpipe dashboard` command, Debian's headless Chromium through Playwright.
The pages open before the demo runs in this process (consumer and trend handler in threads,
as `stockpipe demo`), so every alert reaches them live. Latency: the time the page put the
alert in its feed (`Date.now()`) minus the SNS publish timestamp of the same message on the
observer queue (same clock). CPU and RSS of the server process are sampled from /proc every
0.5 s. Page weight: bytes received (encoded, as on the wire) for every request of the first
load, from the DevTools protocol; the event stream is counted apart (it never finishes).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from bench.producer_bench import machine
from stockpipe.demo import run_demo
from tests.dashboard_stack import FEED, alert_key, demo_stack, launch, open_page, start_dashboard
from tests.waiting import wait_for

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """CPU share (of one core) and RSS of a process, every `every_s`, until stopped."""

    def __init__(self, pid: int, every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s = pid, every_s
        self.stop = threading.Event()
        self.cpu: list[float] = []
        self.rss: list[float] = []

    def run(self) -> None:
        last_cpu, last_t = cpu_seconds(self.pid), time.monotonic()
        while not self.stop.wait(self.every_s):
            cpu, now = cpu_seconds(self.pid), time.monotonic()
            self.cpu.append(100 * (cpu - last_cpu) / (now - last_t))
            self.rss.append(rss_mib(self.pid))
            last_cpu, last_t = cpu, now


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def page_weight(browser: Any, url: str) -> dict[str, int]:
    page = browser.new_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on(
        "Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"])
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(urls.get(e["requestId"], "?"), int(e["encodedDataLength"])),
    )
    page.goto(url)
    page.wait_for_function("window.dashboard && window.dashboard.loaded")
    time.sleep(1)  # the page's last requests (the event stream stays open)
    page.close()
    return {url: size for url, size in sizes.items() if not url.startswith("data:")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--ticks", type=int, default=5000)
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "pages": args.pages, "ticks": args.ticks}
    with (
        tempfile.TemporaryDirectory(prefix="dashboard-bench-") as tmp,
        demo_stack(Path(tmp)) as stack,
    ):
        process, url = start_dashboard(Path(tmp) / "dashboard.log")
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                idle_rss = rss_mib(process.pid)
                pages = [open_page(browser, url) for _ in range(args.pages)]
                sampler = Sampler(process.pid)
                sampler.start()
                started = time.monotonic()
                report = run_demo(stack.settings, ticks=args.ticks)
                demo_s = time.monotonic() - started
                observed = stack.observe()
                for page in pages:
                    wait_for(lambda p=page: len(p.evaluate(FEED)) == len(observed), 60, "alerts")
                sampler.stop.set()
                sampler.join()
                latencies: list[float] = []
                for page in pages:
                    shown = {i["key"]: i["shownMs"] for i in page.evaluate(FEED)}
                    latencies += [shown[alert_key(body)] - at for at, body in observed]
                weight = page_weight(browser, url)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    results.update(
        {
            "demo_seconds": round(demo_s, 1),
            "alerts": report.alerts,
            "alert_publish_to_visible_ms": {
                "samples": len(latencies),
                "p50": percentile(latencies, 0.5),
                "p95": percentile(latencies, 0.95),
                "max": max(latencies),
            },
            "server_cpu_percent_of_one_core": {
                "mean": round(sum(sampler.cpu) / len(sampler.cpu), 1),
                "p95": round(percentile(sampler.cpu, 0.95), 1),
            },
            "server_rss_mib": {
                "idle_before_pages": round(idle_rss, 1),
                "max": round(max(sampler.rss), 1),
            },
            "first_load_bytes": {"total": sum(weight.values()), "by_url": weight},
        }
    )
    print(json.dumps(results, indent=2), flush=True)
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "dashboard.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
