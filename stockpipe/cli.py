"""`stockpipe`: run the local stack, the demo, and the producer against any endpoint."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from common import aws
from common.logs import setup_logging
from common.settings import Settings
from consumer.daemon import DaemonError, run_daemon
from producer.options import SourceName, SourceOptions, build_source
from producer.publisher import StreamNotFound, publisher_for
from producer.run import produce, stop_on_signals
from producer.sources.replay import ReplayFormatError
from stockpipe import alerts_feed, stack
from stockpipe.cost import PRICES_AS_OF, Workload, estimate, shards_needed
from stockpipe.dashboard.command import dashboard
from stockpipe.deployment import (
    Deployment,
    DeploymentNotFound,
    settings_env,
    stack_outputs,
)
from stockpipe.deployment import teardown as teardown_deployment
from stockpipe.emulator import EmulatorError
from stockpipe.history.athena import AthenaQueryFailed
from stockpipe.history.named import QUERIES
from stockpipe.history.plan import QueryError
from stockpipe.history.service import HistoryQueries, print_result, render_query
from stockpipe.provision import provision as provision_resources
from stockpipe.scaling import ConsumerService, ScaleError
from stockpipe.scaling import scale as scale_stream
from stockpipe.trend_local import topic_arn, trend_event_source

app = typer.Typer(
    help="Real-time stock market analytics pipeline: Kinesis, KCL, S3 Parquet, DynamoDB, SNS.\n\n"
    "Runs on an embedded AWS emulator (no account, no Docker) or on real AWS.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)
out = Console()
log = logging.getLogger("stockpipe")

app.command()(dashboard)  # implemented in stockpipe/dashboard/

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")]


def _settings(verbose: bool, quiet: bool = False) -> Settings:
    try:
        settings = Settings()
    except ValidationError as e:
        err.print(f"[red]error:[/] invalid STOCKPIPE_* configuration: {e}")
        raise typer.Exit(2) from e
    level = "DEBUG" if verbose else ("WARNING" if quiet else settings.log_level)
    setup_logging(level, settings.log_format)
    return settings


@contextmanager
def _user_errors() -> Iterator[None]:
    """Errors a user can fix become one red line and exit code 2, not a traceback."""
    try:
        yield
    except StreamNotFound as e:
        err.print(
            f"[red]error:[/] {e}. Start the local stack with `stockpipe up`, or deploy "
            "the stack (docs/deploy.md), or set STOCKPIPE_STREAM_NAME."
        )
        raise typer.Exit(2) from e
    except (
        ReplayFormatError,
        FileNotFoundError,
        EmulatorError,
        DaemonError,
        QueryError,
        AthenaQueryFailed,
        ValueError,
    ) as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from e


@contextmanager
def _target(settings: Settings, *, allow_embedded: bool) -> Iterator[stack.Target]:
    """Use AWS_ENDPOINT_URL or a running `stockpipe up`; else start one (or use real AWS)."""
    found = stack.discover()
    if found.is_local or not allow_embedded:
        if found.endpoint:
            stack.use_endpoint(found.endpoint)
        yield found
        return
    with stack.local_stack(settings) as (endpoint, _resources):
        yield stack.Target(endpoint, "embedded")


@app.command()
def up(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 0,
    verbose: Verbose = False,
) -> None:
    """Start the local stack (AWS emulator + resources) and keep it running until Ctrl-C.

    Other stockpipe commands find it automatically. The emulator keeps its data in memory:
    the S3 history is saved on a clean stop and restored on the next start; the stream,
    tables and queued alerts are not kept.
    """
    settings = _settings(verbose)
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


@app.command()
def provision(verbose: Verbose = False) -> None:
    """Create the pipeline's resources (idempotent) on AWS_ENDPOINT_URL or a running stack.

    The compose file's init service runs this against the emulator container.
    """
    settings = _settings(verbose)
    with _user_errors(), _target(settings, allow_embedded=False) as target:
        if not target.is_local:
            raise typer.BadParameter("on AWS the resources come from the deploy stack")
        resources = provision_resources(settings)
    err.print(
        f"resources ready on {target.endpoint}: stream {settings.stream_name}, "
        f"bucket {resources.bucket}, table {resources.ticks_table}"
    )


@app.command()
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
    from stockpipe.demo import Progress as DemoProgress  # imports the consumer (kclpy)
    from stockpipe.demo import percentile, run_demo

    settings = _settings(verbose, quiet=json_output)
    # flush often: the demo is about watching ticks land, not about write efficiency
    settings = settings.model_copy(
        update={"consumer_flush_age_ms": min(settings.consumer_flush_age_ms, 500)}
    )
    with _user_errors(), _target(settings, allow_embedded=True) as target:
        if not target.is_local:
            raise typer.BadParameter("the demo runs on the local stack only")
        if not json_output:
            err.print(
                f"demo on {target.endpoint} ({target.origin}), {ticks} ticks, "
                f"symbols {', '.join(settings.symbols)}"
            )
            watch = "open `stockpipe dashboard` in another shell"
            if target.origin == "embedded":
                watch = "start `stockpipe up`, then `stockpipe dashboard`, then this demo"
            err.print(f"to watch it live: {watch}")
        with Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            TimeElapsedColumn(),
            console=err,
            disable=json_output,
        ) as bars:
            produced = bars.add_task("produced to Kinesis", total=ticks, extra="")
            stored = bars.add_task("in S3 + DynamoDB", total=ticks, extra="")
            alerted = bars.add_task("trend alerts (SNS -> SQS)", total=None, extra="")

            def show(p: DemoProgress) -> None:
                bars.update(produced, completed=p.produced)
                bars.update(alerted, completed=p.alerts)
                lag = percentile(p.lags_ms[-500:], 0.5)
                bars.update(
                    stored,
                    completed=p.stored,
                    extra=f"lag p50 {lag:.0f} ms, {p.dead_letters} dead letters"
                    if lag is not None
                    else "",
                )

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
        table = Table(title="demo summary", show_header=False)
        for key, value in vars(report).items():
            if key != "latest_alerts":
                table.add_row(key, str(value))
        out.print(table)
        if report.latest_alerts:
            signals = Table("signal", "symbol", "bar (UTC)", "price", title="latest alerts")
            for alert in report.latest_alerts:
                colour = "green" if alert["signal"] == "BUY" else "red"
                signals.add_row(
                    f"[{colour}]{alert['signal']}[/]",
                    str(alert["symbol"]),
                    str(alert["bar_time"]),
                    str(alert["price"]),
                )
            out.print(signals)
    complete = report.produced == report.in_stream == report.dynamodb_rows == report.s3_rows
    if not complete:
        raise typer.Exit(1)


@app.command()
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
    settings = _settings(verbose)
    with _user_errors(), _target(settings, allow_embedded=False) as target:
        err.print(
            f"consuming {settings.stream_name} on {target.endpoint or 'real AWS'}"
            f" with the {'KCL daemon' if kcl else 'local driver'}"
        )
        if kcl:
            with tempfile.TemporaryDirectory(prefix="stockpipe-kcl-") as workdir:
                code = run_daemon(settings, Path(workdir))
            raise typer.Exit(code)
        from consumer.app import make_processor  # only the consumer's images carry kclpy
        from consumer.local_driver import driver_for

        stop = threading.Event()
        stop_on_signals(stop)
        driver = driver_for(settings, lambda: make_processor(settings))
        driver.run(stop)
        err.print(f"stopped after {driver.records_delivered} record(s)")


@app.command()
def alerts(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    verbose: Verbose = False,
) -> None:
    """Tail trend alerts from the local SQS queue subscribed to the alerts topic (Ctrl-C ends).

    Alerts appear while something runs the trend handler: `stockpipe demo`, or
    `stockpipe trend` next to `stockpipe consume`.
    """
    settings = _settings(verbose)
    stop = threading.Event()
    stop_on_signals(stop)
    with _user_errors(), _target(settings, allow_embedded=False) as target:
        sqs = aws.client("sqs", region=settings.region)
        queue_url = sqs.get_queue_url(QueueName=settings.alerts_queue)["QueueUrl"]
        err.print(f"waiting for alerts on {queue_url} ({target.endpoint or 'real AWS'})")
        while not stop.is_set():
            for alert in alerts_feed.receive(sqs, queue_url, wait_s=1):
                if json_output:
                    print(orjson.dumps(alert).decode(), flush=True)
                else:
                    colour = "green" if alert["signal"] == "BUY" else "red"
                    values = alert["indicators"]
                    out.print(
                        f"[{colour}]{alert['signal']:<4}[/] {alert['symbol']:<8} "
                        f"{alert['bar_time']}  price {alert['price']:.2f}  "
                        f"SMA {values['sma_fast']:.2f}/{values['sma_slow']:.2f}  "
                        f"RSI {values['rsi_14'] or float('nan'):.1f}"
                    )


@app.command()
def trend(verbose: Verbose = False) -> None:
    """Run the trend Lambda's handler locally on the ticks table's DynamoDB stream (Ctrl-C).

    The emulator cannot run Lambda code, so this is the local event source mapping.
    """
    settings = _settings(verbose)
    stop = threading.Event()
    stop_on_signals(stop)
    with _user_errors(), _target(settings, allow_embedded=False) as target:
        if not target.is_local:
            raise typer.BadParameter("on AWS the trend handler runs as a Lambda (docs/deploy.md)")
        source = trend_event_source(settings)
        err.print(f"trend handler on the stream of {settings.ticks_table} ({target.endpoint})")
        source.run(stop)
        err.print(f"stopped after {source.records_delivered} stream record(s)")


@app.command()
def subscribe(
    protocol: Annotated[str, typer.Argument(help="email, sms, sqs, https or lambda")],
    endpoint: Annotated[str, typer.Argument(help="address, phone number (E.164) or ARN/URL")],
    symbol: Annotated[
        list[str] | None, typer.Option("--symbol", help="Only these symbols (repeatable).")
    ] = None,
    signal: Annotated[
        list[str] | None, typer.Option("--signal", help="Only BUY or SELL (repeatable).")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Subscribe an endpoint to trend alerts, optionally filtered by symbol and signal.

    Example: stockpipe subscribe email me@example.com --symbol AAPL --signal BUY
    (email subscriptions must be confirmed from the message SNS sends).
    """
    settings = _settings(verbose)
    with _user_errors(), _target(settings, allow_embedded=False):
        arn = alerts_feed.subscribe(
            aws.client("sns", region=settings.region),
            topic_arn(settings),
            protocol,
            endpoint,
            symbols=symbol or [],
            signals=signal or [],
        )
        policy = alerts_feed.filter_policy(symbol or [], signal or [])
        err.print(f"subscribed {protocol}:{endpoint} {policy or '(all alerts)'}: {arn}")


@app.command()
def query(
    sql_or_name: Annotated[
        str | None, typer.Argument(help="Trino SQL, or a named query (see --list).")
    ] = None,
    list_queries: Annotated[bool, typer.Option("--list", help="List the named queries.")] = False,
    symbol: Annotated[str | None, typer.Option(help="Named queries: one symbol.")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Named queries: first day, YYYY-MM-DD.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Named queries: last day, YYYY-MM-DD.")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    explain: Annotated[
        bool, typer.Option(help="Print the translated SQL and the files it would read.")
    ] = False,
    engine: Annotated[
        str, typer.Option(help="auto (local stack if there is one, else Athena), local, athena")
    ] = "auto",
    verbose: Verbose = False,
) -> None:
    """Query the tick history with SQL: Athena on AWS, DuckDB on the local stack.

    Tables: ticks (partitioned by dt = event date) and dead_letters (dt = arrival date).
    Filter on dt to read fewer partitions. Example:
    stockpipe query daily-ohlc --symbol AAPL --from 2025-11-20 --to 2025-11-24 --format json
    """
    if list_queries:
        for named in QUERIES.values():
            out.print(f"[bold]{named.name:<16}[/] {named.description}")
        return
    if not sql_or_name:
        raise typer.BadParameter("give SQL or a named query (stockpipe query --list)")
    if output not in ("table", "csv", "json") or engine not in ("auto", "local", "athena"):
        raise typer.BadParameter("--format is table, csv or json; --engine auto, local or athena")
    settings = _settings(verbose, quiet=output != "table")
    with _user_errors(), _target(settings, allow_embedded=False) as target:
        sql = render_query(sql_or_name, symbol=symbol, start=start, end=end)
        use_local = engine == "local" or (engine == "auto" and target.is_local)
        runner = HistoryQueries(settings)
        if explain:
            err.print(runner.explain(sql, local=use_local))
            return
        result = runner.run(sql, local=use_local)
    print_result(result, output, out)
    err.print(
        f"{len(result.rows)} row(s) in {result.seconds:.2f} s, "
        f"{result.bytes_read:,} bytes read"
        + (f" from {result.files_read} file(s)" if use_local else " (Athena scanned)")
    )


@app.command(name="produce")
def produce_command(
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
    settings = _settings(verbose)
    if symbols:
        settings = settings.model_copy(update={"symbols": Settings.parse_symbols(symbols)})
    options = SourceOptions(
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
    stop = threading.Event()
    stop_on_signals(stop)
    with _user_errors(), _target(settings, allow_embedded=False) as target:
        quote_source = build_source(options, settings.symbols)
        where = target.endpoint or "real AWS"
        err.print(f"producing {source} quotes to stream {settings.stream_name} on {where}")
        publisher = publisher_for(settings)
        with Progress(
            TextColumn("{task.description}"), MofNCompleteColumn(), TimeElapsedColumn(), console=err
        ) as bar:
            task = bar.add_task("ticks produced", total=limit)
            stats = produce(
                quote_source,
                publisher,
                stop=stop,
                limit=limit,
                on_tick=lambda _t: bar.advance(task),
            )
    err.print(
        f"produced {stats.produced}, sent {stats.sent}, rejected {stats.rejected} "
        f"{dict(stats.rejected_by_rule) or ''}, retried {stats.retried}, "
        f"failed {stats.failed} in {stats.seconds:.1f}s"
    )
    if stats.failed:
        raise typer.Exit(1)


DeployName = Annotated[
    str,
    typer.Option(
        "--name", help="The deployment's `name` (deploy/cdk.json): stacks NAME-data, NAME-compute."
    ),
]


@contextmanager
def _deployment_errors() -> Iterator[None]:
    try:
        yield
    except (DeploymentNotFound, ScaleError, TimeoutError, RuntimeError) as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from e


def _progress(message: str) -> None:
    err.print(message, soft_wrap=True, highlight=False)


@app.command(name="env")
def env_command(name: DeployName = "stockpipe", verbose: Verbose = False) -> None:
    """Print `export STOCKPIPE_...` lines that point every command at a deployed stack.

    Example: eval "$(stockpipe env)" && stockpipe produce --source synthetic --limit 100
    """
    settings = _settings(verbose)
    deployment = Deployment(name)
    with _deployment_errors(), _target(settings, allow_embedded=False):
        outputs = stack_outputs(aws.client("cloudformation"), deployment.data_stack)
        for variable, value in sorted(settings_env(outputs).items()):
            out.print(f"export {variable}={value}", highlight=False, soft_wrap=True)


@app.command()
def scale(
    shards: Annotated[
        int, typer.Option("--shards", help="Open shards wanted (1-500).", show_default=False)
    ],
    name: DeployName = "stockpipe",
    cluster: Annotated[
        str | None, typer.Option(help="ECS cluster (default: the compute stack's).")
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="Consumer service (default: the compute stack's).")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Reshard the deployed stream and cap the consumer service at one task per shard.

    Large changes take several UpdateShardCount calls (each at most doubles or halves the
    shards; AWS allows 10 per day). Afterwards set `shards` in deploy/cdk.json to N, or the
    next `cdk deploy` puts the old count back.
    """
    settings = _settings(verbose)
    deployment = Deployment(name)
    with _deployment_errors(), _target(settings, allow_embedded=False):
        cloudformation = aws.client("cloudformation")
        stream = stack_outputs(cloudformation, deployment.data_stack)["StreamName"]
        if not (cluster and service):
            compute = stack_outputs(cloudformation, deployment.compute_stack)
            cluster = cluster or compute["ClusterName"]
            service = service or compute["ConsumerServiceName"]
        result = scale_stream(
            shards,
            stream=stream,
            consumers=ConsumerService(cluster, service),
            kinesis=aws.client("kinesis"),
            autoscaling=aws.client("application-autoscaling"),
            ecs=aws.client("ecs"),
            progress=_progress,
        )
    _progress(
        f"{stream}: {result.shards_before} -> {result.shards_after} shards "
        f"in {len(result.steps)} step(s); consumers at most {result.max_tasks} tasks. "
        f'Now set `"shards": {shards}` in deploy/cdk.json.'
    )


@app.command()
def teardown(
    name: DeployName = "stockpipe",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    verbose: Verbose = False,
) -> None:
    """Delete a deployment: the compute stack, then the data stack with its emptied bucket.

    Everything goes: tick history, tables, alert subscriptions. The CDK bootstrap stack
    (shared by all CDK apps of the account) stays.
    """
    settings = _settings(verbose)
    deployment = Deployment(name)
    if not yes:
        typer.confirm(
            f"Delete {deployment.compute_stack} and {deployment.data_stack} with all their data?",
            abort=True,
        )
    with _deployment_errors(), _target(settings, allow_embedded=False):
        teardown_deployment(
            deployment,
            cloudformation=aws.client("cloudformation"),
            s3=aws.client("s3"),
            progress=_progress,
        )


@app.command()
def cost(
    symbols: Annotated[int, typer.Option(min=1, help="Symbols streamed.")] = 50,
    ticks_per_second: Annotated[
        float, typer.Option(min=0.01, help="Ticks per second, all symbols together.")
    ] = 20.0,
    shards: Annotated[
        int | None, typer.Option(min=0, help="Stream shards; 0 = on-demand; default: enough.")
    ] = None,
    consumers: Annotated[int, typer.Option(min=1, help="Consumer tasks running.")] = 1,
    nat_gateways: Annotated[int, typer.Option(min=0, help="As -c natGateways.")] = 1,
    flush_age_ms: Annotated[
        int, typer.Option(min=100, help="Consumer flush age (STOCKPIPE_CONSUMER_FLUSH_AGE_MS).")
    ] = 2000,
    emails: Annotated[int, typer.Option(min=0, help="E-mail alert subscribers.")] = 1,
    sms: Annotated[int, typer.Option(min=0, help="SMS alert subscribers.")] = 0,
) -> None:
    """Estimate the monthly AWS bill of a deployment (list prices; see docs/deploy.md)."""
    needed = shards_needed(ticks_per_second)
    chosen = max(2, needed) if shards is None else shards
    if 0 < chosen < needed:
        err.print(f"[yellow]warning:[/] {ticks_per_second:g} ticks/s needs {needed} shards")
    workload = Workload(
        symbols=symbols,
        ticks_per_second=ticks_per_second,
        shards=chosen,
        consumer_tasks=consumers,
        nat_gateways=nat_gateways,
        flush_age_s=flush_age_ms / 1000,
        email_subscribers=emails,
        sms_subscribers=sms,
    )
    items = estimate(workload)
    table = Table(title=f"{symbols} symbols, {ticks_per_second:g} ticks/s: USD per month")
    for column in ("service", "item"):
        table.add_column(column)
    table.add_column("USD", justify="right")
    for item in items:
        table.add_row(item.service, item.item, f"{item.usd:,.2f}")
    table.add_row("", "[b]total[/]", f"[b]{sum(i.usd for i in items):,.2f}[/]")
    out.print(table)
    err.print(f"{PRICES_AS_OF}; free tiers not deducted; check in the AWS Pricing Calculator.")
