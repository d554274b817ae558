"""The docker tier: a real engine (`make docker-test` starts one), images built offline."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import docker
from stockpipe.emulator import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ["docker-compose", "-f", str(ROOT / "docker-compose.yml")]


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except Exception as e:  # no engine: say so plainly
        pytest.fail(
            f"no Docker engine at DOCKER_HOST={os.environ.get('DOCKER_HOST')!r} ({e}); "
            "run `make docker-test`, which starts one (scripts/docker-engine.sh)"
        )
    return client


@pytest.fixture(scope="session")
def images(engine: docker.DockerClient) -> None:
    """Build every image through the compose file (offline settings come from the env)."""
    result = subprocess.run(
        [*COMPOSE, "build"], capture_output=True, text=True, check=False, timeout=1200
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture
def emulator_port() -> int:
    return free_port()


@pytest.fixture
def host_aws(emulator_port: int, monkeypatch: pytest.MonkeyPatch) -> str:
    endpoint = f"http://127.0.0.1:{emulator_port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return endpoint


@pytest.fixture
def compose_project(images: None, emulator_port: int) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "STOCKPIPE_EMULATOR_PORT": str(emulator_port),
        "STOCKPIPE_DASHBOARD_PORT": str(free_port()),
    }
    project = ["-p", f"stockpipe-test-{emulator_port}"]
    yield {"project": project[1], **env}
    subprocess.run(
        [*COMPOSE, *project, "down", "-t", "20"],
        env=env,
        capture_output=True,
        check=False,
        timeout=300,
    )
