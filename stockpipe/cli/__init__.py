"""`stockpipe`: run the local stack, the demo, and the pipeline against any endpoint.

One module per concern: local.py (the local stack and the demo), pipeline.py (produce,
consume, trend), alerts.py, history.py (query), deployed.py (env, scale, teardown, cost),
stockpipe/dashboard/command.py (dashboard);
shared.py holds what they share, render.py how they look, errors.py how they fail.
A new command is one entry in COMMANDS: every entry gets the same one-line errors.
Nothing here imports the `local` extra (moto, Hypercorn, DuckDB, sqlglot) or kclpy: they
are imported where they run.
"""

from __future__ import annotations

import typer

from stockpipe.cli import alerts, deployed, history, local, pipeline
from stockpipe.cli.errors import guarded
from stockpipe.dashboard.command import dashboard

COMMANDS = (
    local.up,
    local.provision,
    local.demo,
    pipeline.consume,
    alerts.alerts,
    pipeline.trend,
    alerts.subscribe,
    history.query,
    pipeline.produce,
    deployed.env,
    deployed.scale,
    deployed.teardown,
    deployed.cost,
    dashboard,
)

app = typer.Typer(
    help="Real-time stock market analytics pipeline: Kinesis, KCL, S3 Parquet, DynamoDB, SNS.\n\n"
    "Runs on an embedded AWS emulator (no account, no Docker) or on real AWS.",
    no_args_is_help=True,
    add_completion=False,
)
for command in COMMANDS:
    app.command()(guarded(command))
