"""The data stack's real template, synthesized by the CDK app and created through the
emulator's CloudFormation API (what `cdk deploy` does, minus the asset upload)."""

from __future__ import annotations

import json
import os
import time
from functools import cache
from pathlib import Path
from typing import Any

from common import aws
from stockpipe.deployment import Deployment, stack_outputs

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
ACCOUNT = "123456789012"  # the emulator's account
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


def synth_app(outdir: Path | None = None, name: str = "stockpipe") -> Any:
    """The whole app's cloud assembly (templates, asset manifests, staged image contexts)."""
    import aws_cdk as cdk

    from deploy.app import build

    # two shards (the default is one): the scale and lease tests need more than one
    context = {"name": name, "account": ACCOUNT, "region": "us-east-1", "shards": 2}
    app = cdk.App(context=context, outdir=str(outdir) if outdir else None)
    build(app)
    return app.synth()


@cache
def app_templates(name: str = "stockpipe") -> tuple[dict[str, Any], dict[str, Any]]:
    """Both stacks from one app, as `cdk deploy --all` makes them: the data stack's template
    then carries the exports the compute stack imports (the roles' resource ARNs). Cached:
    callers read them, never change them."""
    assembly = synth_app(name=name)
    deployment = Deployment(name)
    return (
        dict(assembly.get_stack_by_name(deployment.data_stack).template),
        dict(assembly.get_stack_by_name(deployment.compute_stack).template),
    )


def emulator_compatible(template: dict[str, Any]) -> dict[str, Any]:
    """moto 5.2 hands a KMS key's CloudFormation tags (`Key`/`Value`) to its KMS API, which
    wants `TagKey`/`TagValue`; the key then fails to create. Only the tags are left out."""
    copy = json.loads(json.dumps(template))
    for resource in copy["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            resource["Properties"].pop("Tags", None)
    return copy


def deploy_data_stack(name: str = "stockpipe") -> dict[str, str]:
    """Creates the app's data stack and returns its outputs."""
    # `cdk bootstrap` writes this parameter; the template's rule checks it
    aws.client("ssm").put_parameter(
        Name=BOOTSTRAP_VERSION_PARAMETER, Value="30", Type="String", Overwrite=True
    )
    cloudformation = aws.client("cloudformation")
    stack = Deployment(name).data_stack
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(emulator_compatible(app_templates(name)[0])),
        Capabilities=["CAPABILITY_IAM"],
    )
    deadline = time.monotonic() + 120
    while True:
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            break
        assert time.monotonic() < deadline, f"{stack} still {status}"
        time.sleep(0.5)
    assert status == "CREATE_COMPLETE", status
    return stack_outputs(cloudformation, stack)


def consumer_service(tasks: int, max_tasks: int) -> tuple[str, str]:
    """What the compute stack makes for the consumer: an ECS service with a scalable target."""
    ecs = aws.client("ecs")
    cluster = ecs.create_cluster(clusterName="stockpipe-cluster")["cluster"]["clusterName"]
    ecs.register_task_definition(
        family="consumer",
        containerDefinitions=[{"name": "consumer", "image": "stockpipe-consumer", "memory": 1024}],
        requiresCompatibilities=["FARGATE"],
    )
    ecs.create_service(
        cluster=cluster, serviceName="consumer", taskDefinition="consumer", desiredCount=tasks
    )
    aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=f"service/{cluster}/consumer",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=max_tasks,
    )
    return cluster, "consumer"
