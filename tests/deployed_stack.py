"""The data stack's real template, synthesized by the CDK app and created through the
emulator's CloudFormation API (what `cdk deploy` does, minus the asset upload)."""

from __future__ import annotations

import json
import os
import time

from common import aws
from stockpipe.deployment import Deployment, stack_outputs

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
ACCOUNT = "123456789012"  # the emulator's account
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


def data_template(name: str = "stockpipe", **context: object) -> dict[str, object]:
    import aws_cdk as cdk

    from deploy.config import DeployConfig
    from deploy.data_stack import DataStack

    app = cdk.App()
    config = DeployConfig.from_context({"name": name, **context}.get)
    env = cdk.Environment(account=ACCOUNT, region="us-east-1")
    DataStack(app, Deployment(name).data_stack, config, env=env)
    return dict(app.synth().get_stack_by_name(Deployment(name).data_stack).template)


def deploy_data_stack(name: str = "stockpipe", **context: object) -> dict[str, str]:
    """Creates the stack and returns its outputs."""
    # `cdk bootstrap` writes this parameter; the template's rule checks it
    aws.client("ssm").put_parameter(
        Name=BOOTSTRAP_VERSION_PARAMETER, Value="30", Type="String", Overwrite=True
    )
    cloudformation = aws.client("cloudformation")
    stack = Deployment(name).data_stack
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(data_template(name, **context)),
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
