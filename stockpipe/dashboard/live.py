"""The dashboard's state and the loop that keeps it fresh and pushes changes to open pages.

Loops per server, not per page: every half second one reads new alerts and another new ticks
(after the last key per symbol), every few seconds a third reads the slower health figures;
each change goes to every page listening on the event stream. A page's request never
touches AWS (except a history query), so open pages add no reads.
AWS calls run in worker threads; the state changes only on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from stockpipe.dashboard.model import SymbolView, indicator_values
from stockpipe.dashboard.source import PipelineSource, SourceError

log = logging.getLogger(__name__)

Event = dict[str, Any]
RATE_WINDOW_S = 10.0
LISTENER_BACKLOG = 1000


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Dashboard:
    def __init__(
        self,
        source: PipelineSource,
        *,
        backfill: int = 2000,
        page: int = 500,
        max_bars: int = 600,
        max_alerts: int = 500,
        clock: Callable[[], float] = time.time,
    ) -> None:
        settings = source.settings
        self.source = source
        self.symbols = list(settings.symbols)
        self.fast, self.slow = settings.trend_fast, settings.trend_slow
        bar_ms = settings.bar_ms
        self.views = {s: SymbolView(s, bar_ms=bar_ms, max_bars=max_bars) for s in self.symbols}
        self.indicators: dict[str, dict[str, float | None] | None] = dict.fromkeys(self.symbols)
        self.alerts: deque[Event] = deque(maxlen=max_alerts)
        self.status: Event = {"ok": True, "message": "starting"}
        self.health: Event = {}
        self.ticks_loaded = 0
        self._backfill, self._page = backfill, page
        self._clock = clock
        self._arrivals: deque[tuple[float, int]] = deque()  # (seen at, ticks)
        self._lags_ms: deque[float] = deque(maxlen=2000)
        self._checkpoints: dict[str, tuple[str | None, float]] = {}
        self._listeners: set[asyncio.Queue[Event]] = set()
        self._errors: dict[str, str] = {}

    # pages listening on the event stream
    def listen(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(LISTENER_BACKLOG)
        self._listeners.add(queue)
        return queue

    def forget(self, queue: asyncio.Queue[Event]) -> None:
        self._listeners.discard(queue)

    def _send(self, event: Event) -> None:
        for queue in list(self._listeners):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a page that stopped reading: it reloads on reconnect
                self._listeners.discard(queue)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    # reads
    async def refresh_ticks(self) -> None:
        for symbol, view in self.views.items():
            backfill = view.last_key is None
            rows = await asyncio.to_thread(
                self.source.ticks,
                symbol,
                after=view.last_key,
                limit=self._backfill if backfill else self._page,
            )
            if not rows:
                continue
            now = self._clock()
            self.ticks_loaded += len(rows)
            if not backfill:
                self._arrivals.append((now, len(rows)))
                self._lags_ms.extend(now * 1000 - r.arrival_ms for r in rows)
            earliest = view.add(rows)
            self._send({"type": "bars", **view.series(self.fast, self.slow, since_ms=earliest)})

    async def refresh_alerts(self) -> None:
        for alert in await asyncio.to_thread(self.source.alerts):
            entry = {"received_ms": int(self._clock() * 1000), "alert": alert}
            self.alerts.appendleft(entry)
            self._send({"type": "alert", **entry})

    async def refresh_health(self) -> None:
        for symbol in self.symbols:
            state = await asyncio.to_thread(self.source.indicator_state, symbol)
            values = (
                indicator_values(state.indicators, fast=self.fast, slow=self.slow)
                if state
                else None
            )
            if values != self.indicators[symbol]:
                self.indicators[symbol] = values
                self._send({"type": "indicators", "symbol": symbol, "values": values})
        today = datetime.fromtimestamp(self._clock(), UTC).date().isoformat()
        letters = await asyncio.to_thread(self.source.dead_letters, today)
        shards = await asyncio.to_thread(self.source.shards)
        self.health = self._health(letters, shards, today)
        self._send({"type": "health", **self.health})

    def _health(self, letters: list[Any], shards: list[Any], today: str) -> Event:
        now = self._clock()
        while self._arrivals and self._arrivals[0][0] < now - RATE_WINDOW_S:
            self._arrivals.popleft()
        recent = [a for a in self.alerts if a["received_ms"] >= (now - 60) * 1000]
        progress = []
        for shard in shards:
            previous = self._checkpoints.get(shard.shard_id)
            if previous is None or previous[0] != shard.checkpoint:
                self._checkpoints[shard.shard_id] = (shard.checkpoint, now)
            moved_at = self._checkpoints[shard.shard_id][1]
            progress.append(
                {
                    "shard_id": shard.shard_id,
                    "checkpoint": shard.checkpoint,
                    "unchanged_s": round(now - moved_at, 1),
                }
            )
        lags = list(self._lags_ms)
        newest = sorted(letters, key=lambda d: d.arrival_ms, reverse=True)[:5]
        return {
            "ticks_per_s": round(sum(n for _, n in self._arrivals) / RATE_WINDOW_S, 2),
            "ticks_loaded": self.ticks_loaded,
            "lag_ms_p50": _percentile(lags, 0.5),
            "lag_ms_p95": _percentile(lags, 0.95),
            "dead_letters_day": today,
            "dead_letters": len(letters),
            "dead_letter_reasons": [{"rule": d.rule, "reason": d.reason} for d in newest],
            "shards": progress,
            "alerts": len(self.alerts),
            "alerts_per_min": len(recent),
            "pages": self.listeners,
        }

    def _set_status(self, loop: str, error: str | None) -> None:
        """Live while every loop's last read worked; else the failures, in words."""
        if error:
            self._errors[loop] = error
        else:
            self._errors.pop(loop, None)
        ok = not self._errors
        message = "live" if ok else "; ".join(sorted(set(self._errors.values())))
        if (ok, message) != (self.status["ok"], self.status["message"]):
            self.status = {"ok": ok, "message": message}
            self._send({"type": "status", **self.status})

    async def run(
        self, stop: asyncio.Event, *, every_s: float = 0.5, health_s: float = 2.0
    ) -> None:
        """Until `stop`: three loops, so a slow health read never delays an alert."""
        await asyncio.gather(
            self._every(stop, every_s, self.refresh_alerts),
            self._every(stop, every_s, self.refresh_ticks),
            self._every(stop, health_s, self.refresh_health),
        )

    async def _every(
        self, stop: asyncio.Event, interval_s: float, refresh: Callable[[], Awaitable[None]]
    ) -> None:
        while not stop.is_set():
            name = refresh.__name__
            try:
                await refresh()
                self._set_status(name, None)
            except SourceError as e:
                log.warning("%s", e)
                self._set_status(name, str(e))
            except Exception as e:  # the page must say it; the server must keep running
                log.exception("dashboard refresh failed")
                self._set_status(name, f"{name} failed: {e!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
