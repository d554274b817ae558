"""Builds the two stacks from CDK context; `python -m deploy` is the app cdk.json runs."""

from __future__ import annotations

import aws_cdk as cdk

from deploy.compute_stack import ComputeStack
from deploy.config import DeployConfig
from deploy.data_stack import DataStack


def build(app: cdk.App) -> tuple[DataStack, ComputeStack]:
    config = DeployConfig.from_context(app.node.try_get_context)
    # account/region from the CLI's credentials when deploying; env-agnostic when not
    env = cdk.Environment(
        account=app.node.try_get_context("account") or None,
        region=app.node.try_get_context("region") or None,
    )
    data = DataStack(
        app, f"{config.name}-data", config, env=env, description="stockpipe: data at rest"
    )
    compute = ComputeStack(
        app,
        f"{config.name}-compute",
        config,
        data,
        env=env,
        description="stockpipe: producer, KCL consumers, trend Lambda, alarms",
    )
    for stack in (data, compute):
        cdk.Tags.of(stack).add("project", "stockpipe")
        cdk.Tags.of(stack).add("stockpipe:deployment", config.name)
    return data, compute
