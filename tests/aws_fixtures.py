"""Fixtures for the tiers that use the emulator: one real emulator (moto under Hypercorn,
over HTTP on 127.0.0.1) per test session, reset before every test so each starts empty.

`make mutation` starts a pytest session per mutant: `scripts/with_emulator.py` serves them
all from one emulator, named in SHARED_EMULATOR (the sessions run one at a time)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from common import aws
from common.settings import Settings
from stockpipe import emulator
from stockpipe.provision import Resources, provision

SHARED_EMULATOR = "STOCKPIPE_TEST_EMULATOR"


@pytest.fixture(scope="session")
def emulator_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shared := os.environ.get(SHARED_EMULATOR):
        yield shared
        return
    log_path = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with emulator.Emulator(log_path=log_path) as emu:
        yield emu.endpoint


@pytest.fixture(autouse=True)
def aws_env(emulator_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    emulator.reset(emulator_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("STOCKPIPE_STATE_DIR", str(tmp_path / "state"))
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return emulator_endpoint


@pytest.fixture
def settings() -> Settings:
    return Settings(shard_count=2)


@pytest.fixture
def resources(settings: Settings) -> Resources:
    return provision(settings)


@pytest.fixture
def kinesis() -> object:
    return aws.client("kinesis")
