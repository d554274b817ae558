"""GIVEN the emulator WHEN the producer container's health check runs THEN it is healthy
exactly while the producer's stream exists and accepts writes, and says why when not."""

from __future__ import annotations

import os
import subprocess
import sys

from common.settings import Settings
from stockpipe.provision import Resources


def health_check(stream: str) -> subprocess.CompletedProcess[str]:
    """As the image's HEALTHCHECK runs it: `python3 -m producer.health`, settings from env."""
    return subprocess.run(
        [sys.executable, "-m", "producer.health"],
        env={**os.environ, "STOCKPIPE_STREAM_NAME": stream},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_healthy_while_the_stream_is_active(resources: Resources, settings: Settings) -> None:
    result = health_check(settings.stream_name)
    assert result.returncode == 0, result.stderr


def test_unhealthy_without_its_stream(resources: Resources) -> None:
    result = health_check("no-such-stream")
    assert result.returncode == 1
    assert "unhealthy: no-such-stream" in result.stderr
    assert "ResourceNotFoundException" in result.stderr
