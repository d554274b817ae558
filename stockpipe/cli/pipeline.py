"""The pipeline's stages as commands: `produce`, `consume` and the local `trend` handler."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

from common.settings import SourceName, parse_symbols
from consumer.daemon import run_daemon
from producer import run as producer_run
from producer.options import build_source
from producer.publisher import publisher_for
from stockpipe.cli import render
from stockpipe.cli.shared import Verbose, err, load_settings, local_target, target
from stockpipe.trend_local import trend_event_source


def produce(
    source: Annotated[SourceName, typer.Option(help="Where quotes come from.")] = "synthetic",
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated symbols (default STOCKPIPE_SYMBOLS).")
    ] = None,
    file: Annotated[
        Path | None, typer.Option(help="Replay file: yfinance CSV/Parquet or a tick CSV.")
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Replay speed factor; 0 = as fast as possible.")
    ] = 0.0,
    loop: Annotated[bool, typer.Option(help="Replay the file again and again.")] = False,
    simulated_time: Annotated[
        bool, typer.Option(help="Synthetic: simulated event times, no waiting.")
    ] = False,
    step_ms: Annotated[int, typer.Option(help="Synthetic: milliseconds between rounds.")] = 1000,
    seed: Annotated[int, typer.Option(help="Synthetic: random seed.")] = 7,
    ignore_market_hours: Annotated[
        bool, typer.Option(help="yfinance: stream even while the US market is closed.")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Stop after this many ticks.")] = None,
    verbose: Verbose = False,
) -> None:
    """Stream quotes into the Kinesis stream until the source ends or Ctrl-C.

    Targets AWS_ENDPOINT_URL if set, else a running `stockpipe up`, else real AWS through
    the standard AWS configuration (profile, region, credentials).
    """
    settings = load_settings(verbose)
    if symbols:
        settings = settings.model_copy(update={"symbols": parse_symbols(symbols)})
    options = settings.model_copy(
        update=dict(
            source=source,
            replay_path=str(file) if file else None,
            replay_speed=speed,
            replay_loop=loop,
            simulated_time=simulated_time,
            step_ms=step_ms,
            seed=seed,
            ignore_market_hours=ignore_market_hours,
            limit=limit,
        )
    )
    stop = threading.Event()
    producer_run.stop_on_signals(stop)
    with target(settings) as found:
        quote_source = build_source(options)
        where = found.endpoint or "real AWS"
        err.print(f"producing {source} quotes to stream {settings.stream_name} on {where}")
        publisher = publisher_for(settings)
        with render.tick_counter(err, limit) as on_tick:
            stats = producer_run.produce(
                quote_source, publisher, stop=stop, limit=limit, on_tick=on_tick
            )
    err.print(
        f"produced {stats.produced}, sent {stats.sent}, rejected {stats.rejected} "
        f"{dict(stats.rejected_by_rule) or ''}, retried {stats.retried}, "
        f"failed {stats.failed} in {stats.seconds:.1f}s"
    )
    if stats.failed:
        raise typer.Exit(1)


def consume(
    kcl: Annotated[
        bool, typer.Option("--kcl", help="Run the real KCL MultiLangDaemon (needs Java).")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Consume the stream into S3 Parquet and DynamoDB until Ctrl-C.

    Without --kcl: the local driver (one process reads every shard, no Java, checkpoints in
    DynamoDB). With --kcl: one KCL worker; start more in other shells to share the leases.
    Targets AWS_ENDPOINT_URL, a running `stockpipe up`, or real AWS.
    """
    settings = load_settings(verbose)
    with target(settings) as found:
        err.print(
            f"consuming {settings.stream_name} on {found.endpoint or 'real AWS'}"
            f" with the {'KCL daemon' if kcl else 'local driver'}"
        )
        if kcl:
            with tempfile.TemporaryDirectory(prefix="stockpipe-kcl-") as workdir:
                code = run_daemon(settings, Path(workdir))
            raise typer.Exit(code)
        from consumer.app import processor_factory, settle_heap  # only consumer images: kclpy
        from consumer.local_driver import driver_for

        stop = threading.Event()
        producer_run.stop_on_signals(stop)
        driver = driver_for(settings, processor_factory(settings))
        settle_heap()
        driver.run(stop)
        err.print(f"stopped after {driver.records_delivered} record(s)")


def trend(verbose: Verbose = False) -> None:
    """Run the trend Lambda's handler locally on the ticks table's DynamoDB stream (Ctrl-C).

    The emulator cannot run Lambda code, so this is the local event source mapping.
    """
    settings = load_settings(verbose)
    stop = threading.Event()
    producer_run.stop_on_signals(stop)
    on_aws = "on AWS the trend handler runs as a Lambda (docs/deploy.md)"
    with local_target(settings, on_aws) as found:
        source = trend_event_source(settings)
        err.print(f"trend handler on the stream of {settings.ticks_table} ({found.endpoint})")
        source.run(stop)
        err.print(f"stopped after {source.records_delivered} stream record(s)")
