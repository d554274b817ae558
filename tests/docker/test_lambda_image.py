"""The trend-lambda image (what deploy/ ships to AWS Lambda) run as Lambda runs it: its
runtime interface client polls a Runtime API, calls the handler with a DynamoDB Streams
event, and posts the result; the handler's alerts arrive through the emulator's SNS."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from decimal import Decimal

import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

import docker
from common import aws
from common.settings import Settings
from lambdas.trend.engine import TickIn
from stockpipe import alerts_feed
from stockpipe.provision import provision
from stockpipe.trend_local import topic_arn
from tests.deployed_stack import synth_app
from tests.docker.conftest import ROOT
from tests.docker.lambda_runtime_api import RuntimeApi
from tests.scenarios import AAPL
from tests.stream_events import event, stream_record
from tests.unit.lambdas.trend_reference import reference_crossovers

IMAGE = "stockpipe-trend-lambda"
START_MS = 1_764_000_000_000 - 1_764_000_000_000 % 60_000


@pytest.fixture(scope="session")
def lambda_image(
    images: None, engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """Built as `cdk deploy` builds it: from the context CDK staged in the cloud assembly,
    with the Dockerfile and target of its asset manifest. Built after the compose images,
    so the shared stages come from the build cache."""
    out = tmp_path_factory.mktemp("cdk.out")
    synth_app(out)
    manifest = json.loads((out / "stockpipe-compute.assets.json").read_text())
    (source,) = (
        image["source"]
        for image in manifest["dockerImages"].values()
        if image["source"]["dockerBuildTarget"] == "trend-lambda"
    )
    context = out / source["directory"]
    # the asset leaves the wheelhouse's wheels out (deploy/compute_stack.py); CI builds offline
    for wheel in (ROOT / "docker" / "wheelhouse").glob("*.whl"):
        shutil.copy(wheel, context / "docker" / "wheelhouse")
    engine.images.build(
        path=str(context),
        dockerfile=source["dockerFile"],
        target=source["dockerBuildTarget"],
        tag=IMAGE,
        network_mode="host",
        rm=True,
        buildargs={
            "BASE_IMAGE": os.environ.get("STOCKPIPE_BASE_IMAGE", "python:3.12-slim"),
            "PIP_ARGS": os.environ.get("STOCKPIPE_PIP_ARGS", ""),
        },
    )
    return IMAGE


@pytest.fixture
def emulator(emulator_port: int, host_aws: str) -> Iterator[str]:
    container = (
        DockerContainer("stockpipe-emulator")
        .with_kwargs(network_mode="host")
        .with_env("EMULATOR_BIND", f"127.0.0.1:{emulator_port}")
        .waiting_for(LogMessageWaitStrategy("Running on").with_startup_timeout(60))
    )
    with container:
        yield host_aws


def one_tick_per_bar() -> dict[str, object]:
    records = [
        stream_record(
            "AAPL",
            TickIn(f"t{i}", START_MS + i * 60_000 + 55_000, Decimal(str(close)), 100),
            sequence=i,
        )
        for i, close in enumerate(AAPL)
    ]
    return event(records)


def test_lambda_image_runs_the_handler_through_the_runtime_api_and_alerts(
    lambda_image: str, engine: docker.DockerClient, emulator: str
) -> None:
    settings = Settings()
    resources = provision(settings)
    with RuntimeApi(one_tick_per_bar()) as api:
        container = engine.containers.run(
            lambda_image,
            detach=True,
            network_mode="host",
            read_only=True,  # Lambda's file system is read-only but for /tmp
            tmpfs={"/tmp": ""},
            environment={
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "AWS_ENDPOINT_URL": emulator,
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "STOCKPIPE_TREND_STATE_TABLE": settings.trend_state_table,
                "STOCKPIPE_ALERTS_TOPIC_ARN": topic_arn(settings),
            },
        )
        try:
            finished = api.done.wait(timeout=90)
            logs = container.logs().decode(errors="replace")[-3000:]
            assert finished, f"no response from the image:\n{logs}"
            assert api.error is None, f"{api.error}\n{logs}"
            assert api.result == {"batchItemFailures": []}
            assert container.attrs["Config"]["User"] == "nobody"
        finally:
            container.remove(force=True)

    # the last bar stays open: no later tick moves the watermark past its end
    want = sorted(
        ("AAPL", signal, START_MS + i * 60_000)
        for i, signal in reference_crossovers(AAPL)
        if i < len(AAPL) - 1
    )
    assert want
    got = alerts_feed.drain(aws.client("sqs"), resources.alerts_queue_url)
    assert sorted((a.symbol, a.signal, a.bar_start_ms) for a in got) == want
