"""The ASGI app: the page, its static assets, JSON reads of the in-memory state, and the
server-sent event stream that pushes every change.

Every error a request can meet (unknown symbol, no history for a day, a stack that is gone,
no credentials) is answered as JSON `{"error": ...}` that the page shows; none escapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from stockpipe.dashboard.history import NoHistory, day_bars
from stockpipe.dashboard.live import Dashboard
from stockpipe.dashboard.source import SourceError
from stockpipe.history.athena import AthenaQueryFailed
from stockpipe.history.result import QueryError

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
KEEPALIVE_S = 15.0


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _error(status: int, message: str) -> JSON:
    return JSON({"error": message}, status_code=status)


def create_app(dashboard: Dashboard, *, local: bool, refresh_s: float = 0.5) -> Starlette:
    """`local`: history through DuckDB (local stack), else Athena."""
    settings = dashboard.source.settings

    def view_of(request: Request) -> Any:
        symbol = request.path_params["symbol"].upper()
        if symbol not in dashboard.views:
            known = ", ".join(dashboard.symbols)
            return None, _error(404, f"unknown symbol {symbol}; this dashboard shows {known}")
        return dashboard.views[symbol], None

    async def index(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def symbols(_request: Request) -> Response:
        return JSON({"symbols": dashboard.symbols, "fast": dashboard.fast, "slow": dashboard.slow})

    async def bars(request: Request) -> Response:
        view, error = view_of(request)
        return error or JSON(view.series(dashboard.fast, dashboard.slow))

    async def indicators(request: Request) -> Response:
        view, error = view_of(request)
        return error or JSON({"symbol": view.symbol, "values": dashboard.indicators[view.symbol]})

    async def alerts(_request: Request) -> Response:
        return JSON({"alerts": list(dashboard.alerts)})

    async def health(_request: Request) -> Response:
        return JSON({**dashboard.health, "status": dashboard.status})

    async def history(request: Request) -> Response:
        symbol = request.path_params["symbol"]
        day = request.query_params.get("date", "")
        try:
            body = await asyncio.to_thread(day_bars, settings, symbol, day, local=local)
        except NoHistory as e:
            return _error(404, str(e))
        except (ValueError, QueryError) as e:
            return _error(400, str(e))
        except (AthenaQueryFailed, SourceError, OSError) as e:
            return _error(503, f"history query failed: {e}")
        return JSON(body)

    async def events(request: Request) -> Response:
        queue = dashboard.listen()

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 2000\n\n"
                yield _sse({"type": "status", **dashboard.status})
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                    except TimeoutError:
                        yield b": keepalive\n\n"
                        continue
                    yield _sse(event)
            finally:
                dashboard.forget(queue)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(dashboard.run(stop, every_s=refresh_s))
        try:
            yield
        finally:
            stop.set()
            await task

    async def failed(_request: Request, exc: Exception) -> Response:
        log.exception("request failed", exc_info=exc)
        return _error(500, f"the server could not answer: {exc!r}")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/symbols", symbols),
            Route("/api/bars/{symbol}", bars),
            Route("/api/indicators/{symbol}", indicators),
            Route("/api/alerts", alerts),
            Route("/api/health", health),
            Route("/api/history/{symbol}", history),
            Route("/api/events", events),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={Exception: failed},
        # the chart library and the bars compress ~4x; the event stream is never compressed
        middleware=[Middleware(GZipMiddleware, minimum_size=1024)],
        lifespan=lifespan,
    )


def _sse(event: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(event) + b"\n\n"
