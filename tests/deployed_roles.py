"""The compute stack's task and function roles, made in the emulator from the synthesized
template and assumed, so that a component runs with exactly what its role grants.

Served by `tests.iam_emulator_app` and told to enforce IAM (`enforce_iam`), the emulator
refuses every request that known credentials did not sign or whose action and resource no
statement of the caller's policies allows. The statements keep their resources, resolved to
the deployed data stack's ARNs through its exports; those naming a resource of the compute
stack itself (its log groups, the trend failure queue: not in the emulator) are left out.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from common import aws
from tests.deployed_stack import ACCOUNT

# component -> the logical-id prefix of its role in the compute stack
ROLES = {"producer": "ProducerTaskRole", "consumer": "ConsumerTaskRole", "trend": "TrendRole"}
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def role_statements(template: dict[str, Any], exports: dict[str, str]) -> dict[str, list[Any]]:
    """Each component's policy statements with the deployed ARNs in place of intrinsics."""
    resources = template["Resources"]
    found: dict[str, list[Any]] = {}
    for component, prefix in ROLES.items():
        (role_id,) = (
            rid
            for rid, r in resources.items()
            if r["Type"] == "AWS::IAM::Role"
            and rid.startswith(prefix)
            and rid[len(prefix) :].isalnum()
        )
        found[component] = [
            {**statement, "Resource": _resolve(statement["Resource"], exports)}
            for r in resources.values()
            if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
            for statement in r["Properties"]["PolicyDocument"]["Statement"]
            if "Fn::GetAtt" not in json.dumps(statement["Resource"])  # a compute resource
        ]
    return found


def _resolve(value: Any, exports: dict[str, str]) -> Any:
    """The intrinsics CDK writes for cross-stack ARNs: ImportValue, Join, Ref AWS::Partition."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_resolve(v, exports) for v in value]
    ((function, argument),) = value.items()
    if function == "Fn::ImportValue":
        return exports[argument]
    if function == "Fn::Join":
        separator, parts = argument
        return str(separator).join(_resolve(p, exports) for p in parts)
    if function == "Ref" and argument == "AWS::Partition":
        return "aws"
    raise ValueError(f"cannot resolve {value!r} outside CloudFormation")


def assume(component: str, statements: list[Any]) -> dict[str, str]:
    """Makes the role, assumes it; returns the credentials as environment variables."""
    iam = aws.client("iam")
    name = f"stockpipe-{component}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName="task", PolicyDocument=json.dumps(policy))
    credentials = aws.client("sts").assume_role(RoleArn=arn, RoleSessionName=component)
    return _env(credentials["Credentials"], "AccessKeyId", "SecretAccessKey", "SessionToken")


def administrator() -> dict[str, str]:
    """An IAM user allowed everything: the test's own set-up and checks once IAM is enforced."""
    iam = aws.client("iam")
    iam.create_user(UserName="stockpipe-test-admin")
    iam.put_user_policy(
        UserName="stockpipe-test-admin", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL)
    )
    key = iam.create_access_key(UserName="stockpipe-test-admin")["AccessKey"]
    return _env(key, "AccessKeyId", "SecretAccessKey")


def _env(
    credentials: dict[str, Any], key_id: str, secret: str, token: str | None = None
) -> dict[str, str]:
    env = {
        "AWS_ACCESS_KEY_ID": credentials[key_id],
        "AWS_SECRET_ACCESS_KEY": credentials[secret],
    }
    if token:
        env["AWS_SESSION_TOKEN"] = credentials[token]
    return env


def enforce_iam(endpoint: str) -> None:
    """From the next request on, the emulator authenticates and authorizes every request."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",  # how many requests may still pass unchecked
        method="POST",
        headers={"Content-Type": "text/plain"},  # a form type would hide the body from moto
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
