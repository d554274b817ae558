"""`stockpipe dashboard`: serve the live page on 127.0.0.1 against the usual target.

The server's packages (the `dashboard` extra) are imported when the command runs, so the
CLI still loads in images that do not carry them.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import webbrowser
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from common.logs import setup_logging
from common.settings import Settings
from stockpipe import stack
from stockpipe.emulator import free_port


def dashboard(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 0,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")] = False,
) -> None:
    """Serve a live dashboard: charts with SMA crossovers, alerts, pipeline health, history.

    Reads (read-only) AWS_ENDPOINT_URL, a running `stockpipe up`, or the deployed stack
    through the standard AWS configuration. Prints the URL; Ctrl-C stops it.
    """
    try:
        settings = Settings()
    except ValidationError as e:
        print(f"error: invalid STOCKPIPE_* configuration: {e}", file=sys.stderr)
        raise typer.Exit(2) from e
    setup_logging("DEBUG" if verbose else settings.log_level, settings.log_format)
    from hypercorn.config import Config

    from stockpipe.dashboard.app import create_app
    from stockpipe.dashboard.live import Dashboard
    from stockpipe.dashboard.source import PipelineSource

    target = stack.discover()
    if target.endpoint:
        stack.use_endpoint(target.endpoint)
    config = Config()
    config.bind = [f"127.0.0.1:{port or free_port()}"]
    config.accesslog = None
    config.errorlog = None  # we print the URL; request errors are logged by the app
    app = create_app(Dashboard(PipelineSource(settings)), local=target.is_local)
    url = f"http://{config.bind[0]}/"
    print(f"dashboard on {url} (data from {target.endpoint or 'AWS'}, {target.origin})", flush=True)
    if open_browser:
        webbrowser.open(url)
    asyncio.run(_serve(app, config))


async def _serve(app: Any, config: Any) -> None:
    from hypercorn.asyncio import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(app, config, shutdown_trigger=stop.wait)
