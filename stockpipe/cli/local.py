"""The local stack: `up` (emulator + resources until Ctrl-C), `provision`, and the `demo`."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from producer.run import stop_on_signals
from stockpipe import stack
from stockpipe.cli import render
from stockpipe.cli.shared import Verbose, err, load_settings, local_target, out, target
from stockpipe.provision import provision as provision_resources


def up(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 0,
    verbose: Verbose = False,
) -> None:
    """Start the local stack (AWS emulator + resources) and keep it running until Ctrl-C.

    Other stockpipe commands find it automatically. The emulator keeps its data in memory:
    the S3 history is saved on a clean stop and restored on the next start; the stream,
    tables and queued alerts are not kept.
    """
    settings = load_settings(verbose)
    stop = threading.Event()
    stop_on_signals(stop)
    with stack.local_stack(settings, port=port or None, record=True) as (endpoint, resources):
        err.print(f"[bold green]local stack up[/] at {endpoint}")
        err.print(f"  stream  {settings.stream_name} ({settings.shard_count} shards)")
        err.print(f"  bucket  s3://{resources.bucket}   table {resources.ticks_table}")
        err.print(f"  alerts  {resources.alerts_topic_arn} -> {resources.alerts_queue_url}")
        err.print(f"  use it from another shell:  export AWS_ENDPOINT_URL={endpoint}")
        err.print("Ctrl-C to stop.")
        stop.wait()
    err.print("local stack stopped")


def provision(verbose: Verbose = False) -> None:
    """Create the pipeline's resources (idempotent) on AWS_ENDPOINT_URL or a running stack.

    The compose file's init service runs this against the emulator container.
    """
    settings = load_settings(verbose)
    with local_target(settings, "on AWS the resources come from the deploy stack") as found:
        resources = provision_resources(settings)
    err.print(
        f"resources ready on {found.endpoint}: stream {settings.stream_name}, "
        f"bucket {resources.bucket}, table {resources.ticks_table}"
    )


def demo(
    ticks: Annotated[int, typer.Option(min=1, help="Ticks to produce before stopping.")] = 5000,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON summary object on stdout, nothing else.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market.")] = 7,
    step_ms: Annotated[
        int, typer.Option(min=1, help="Simulated milliseconds between rounds of quotes.")
    ] = 15_000,
    bad_records: Annotated[
        bool, typer.Option(help="Also send a few malformed records to show dead-lettering.")
    ] = True,
    verbose: Verbose = False,
) -> None:
    """Run synthetic quotes through the whole pipeline on the local stack and summarise.

    Uses a running `stockpipe up` (or AWS_ENDPOINT_URL) if there is one, otherwise starts
    its own emulator for the run. Time is simulated, so hours of market pass in seconds.
    The consumer runs in-process (the local driver, no Java needed).
    """
    from stockpipe.demo import run_demo  # imports the consumer (kclpy)

    settings = load_settings(verbose, quiet=json_output)
    with target(settings, allow_embedded=True) as found:
        if not json_output:
            err.print(
                f"demo on {found.endpoint} ({found.origin}), {ticks} ticks, "
                f"symbols {', '.join(settings.symbols)}"
            )
            watch = "open `stockpipe dashboard` in another shell"
            if found.origin == "embedded":
                watch = "start `stockpipe up`, then `stockpipe dashboard`, then this demo"
            err.print(f"to watch it live: {watch}")
        with render.demo_progress(err, ticks, disabled=json_output) as show:
            report = run_demo(
                settings,
                ticks=ticks,
                seed=seed,
                step_ms=step_ms,
                bad_records=bad_records,
                on_progress=show,
            )
    if json_output:
        print(report.to_json())
    else:
        render.demo_summary(out, report)
    if not report.complete():
        raise typer.Exit(1)
