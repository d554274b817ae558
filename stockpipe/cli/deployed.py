"""A deployed stack: point commands at it (`env`), `scale` it, `teardown`, and its `cost`."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from common import aws
from stockpipe import deployment, scaling
from stockpipe.cli import render
from stockpipe.cli.shared import UserError, Verbose, err, load_settings, out, target
from stockpipe.cost import NETWORKS, PRICES_AS_OF, Workload, estimate, shards_needed

DeployName = Annotated[
    str,
    typer.Option(
        "--name", help="The deployment's `name` (deploy/cdk.json): stacks NAME-data, NAME-compute."
    ),
]


def _progress(message: str) -> None:
    err.print(message, soft_wrap=True, highlight=False)


def env(name: DeployName = "stockpipe", verbose: Verbose = False) -> None:
    """Print `export STOCKPIPE_...` lines that point every command at a deployed stack.

    Example: eval "$(stockpipe env)" && stockpipe produce --source synthetic --limit 100
    """
    settings = load_settings(verbose)
    with target(settings):
        data_stack = deployment.Deployment(name).data_stack
        outputs = deployment.stack_outputs(aws.client("cloudformation"), data_stack)
    for variable, value in sorted(deployment.settings_env(outputs).items()):
        print(f"export {variable}={shlex.quote(value)}")


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
    settings = load_settings(verbose)
    stacks = deployment.Deployment(name)
    with target(settings):
        cloudformation = aws.client("cloudformation")
        stream = deployment.stack_outputs(cloudformation, stacks.data_stack)["StreamName"]
        if not (cluster and service):
            compute = deployment.stack_outputs(cloudformation, stacks.compute_stack)
            cluster = cluster or compute["ClusterName"]
            service = service or compute["ConsumerServiceName"]
        result = scaling.scale(
            shards,
            stream=stream,
            consumers=scaling.ConsumerService(cluster, service),
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


def teardown(
    name: DeployName = "stockpipe",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    verbose: Verbose = False,
) -> None:
    """Delete a deployment: the compute stack, then the data stack with its emptied bucket.

    Everything goes: tick history, tables, alert subscriptions. The CDK bootstrap stack
    (shared by all CDK apps of the account) stays.
    """
    settings = load_settings(verbose)
    stacks = deployment.Deployment(name)
    if not yes:
        typer.confirm(
            f"Delete {stacks.compute_stack} and {stacks.data_stack} with all their data?",
            abort=True,
        )
    with target(settings):
        deployment.teardown(
            stacks,
            cloudformation=aws.client("cloudformation"),
            s3=aws.client("s3"),
            progress=_progress,
        )


def cost(
    symbols: Annotated[int, typer.Option(min=1, help="Symbols streamed.")] = 50,
    ticks_per_second: Annotated[
        float, typer.Option(min=0.01, help="Ticks per second, all symbols together.")
    ] = 20.0,
    shards: Annotated[
        int | None, typer.Option(min=0, help="Stream shards; 0 = on-demand; default: enough.")
    ] = None,
    consumers: Annotated[int, typer.Option(min=1, help="Consumer tasks running.")] = 1,
    network: Annotated[
        str, typer.Option(help="As -c network: public (no NAT), endpoints or nat.")
    ] = "public",
    nat_gateways: Annotated[
        int, typer.Option(min=1, max=3, help="As -c natGateways (with --network nat).")
    ] = 1,
    endpoint_azs: Annotated[
        int, typer.Option(min=1, max=2, help="As -c endpointAzs (with --network endpoints).")
    ] = 2,
    source: Annotated[
        str, typer.Option(help="As -c source: yfinance (needs the internet) or synthetic.")
    ] = "yfinance",
    cold_age_ms: Annotated[
        int,
        typer.Option(min=1000, help="History flush age (STOCKPIPE_CONSUMER_COLD_AGE_MS)."),
    ] = 300_000,
    emails: Annotated[int, typer.Option(min=0, help="E-mail alert subscribers.")] = 1,
    sms: Annotated[int, typer.Option(min=0, help="SMS alert subscribers.")] = 0,
) -> None:
    """Estimate the monthly AWS bill of a deployment (list prices; see docs/deploy.md)."""
    if network not in NETWORKS or source not in ("yfinance", "synthetic"):
        raise UserError(f"--network is {', '.join(NETWORKS)}; --source is yfinance or synthetic")
    needed = shards_needed(ticks_per_second)
    chosen = needed if shards is None else shards
    if 0 < chosen < needed:
        err.print(f"[yellow]warning:[/] {ticks_per_second:g} ticks/s needs {needed} shards")
    workload = Workload(
        symbols=symbols,
        ticks_per_second=ticks_per_second,
        shards=chosen,
        consumer_tasks=consumers,
        network=network,
        nat_gateways=nat_gateways,
        endpoint_azs=endpoint_azs,
        live_producer=source == "yfinance",
        cold_age_s=cold_age_ms / 1000,
        email_subscribers=emails,
        sms_subscribers=sms,
    )
    title = f"{symbols} symbols, {ticks_per_second:g} ticks/s, network={network}: USD per month"
    out.print(render.cost_table(title, estimate(workload)))
    err.print(f"{PRICES_AS_OF}; free tiers not deducted; check in the AWS Pricing Calculator.")
