"""Synthesize the CDK app in-process (jsii runs the CDK's JavaScript under Node)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

# Node 20 is what these machines have; jsii prints a banner on every start otherwise
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

CDK_JSON = Path(__file__).resolve().parents[3] / "deploy" / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    return dict(json.loads(CDK_JSON.read_text())["context"])


@cache
def _synth(context_json: str) -> tuple[Any, Any]:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from deploy.app import build

    app = cdk.App(context=json.loads(context_json))
    data, compute = build(app)
    return Template.from_stack(data), Template.from_stack(compute)


Synth = Callable[..., tuple[Any, Any]]


@pytest.fixture(scope="session")
def synth() -> Synth:
    """`synth(shards=0)`: (data, compute) templates for cdk.json's context plus overrides."""

    def run(**overrides: Any) -> tuple[Any, Any]:
        return _synth(json.dumps({**cdk_json_context(), **overrides}, sort_keys=True))

    return run
