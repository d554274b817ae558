"""GIVEN docker-compose.yml WHEN read as compose reads it THEN each service passes through
every variable of its settings schema and restates no default, the default symbols live
only in common/settings.py, and every service runs without capabilities."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.settings import (
    DEFAULT_SYMBOLS,
    ConsumerSettings,
    ProducerSettings,
    Settings,
    env_name,
)

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = {
    "producer": ProducerSettings,
    "consumer": ConsumerSettings,
    "trend": Settings,  # `stockpipe trend`: the CLI
    "init": Settings,  # `stockpipe provision`
}
DEFAULTED = re.compile(r"\$\{(\w+):-(.*)\}")


def services() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"])


def stockpipe_env(service: str) -> dict[str, Any]:
    env = services()[service].get("environment", {})
    return {k: v for k, v in env.items() if k.startswith("STOCKPIPE_")}


@pytest.mark.parametrize("service", sorted(SCHEMAS))
def test_each_service_passes_through_every_variable_of_its_schema(service: str) -> None:
    missing = "run `python scripts/compose_env.py`"
    assert sorted(stockpipe_env(service)) == sorted(SCHEMAS[service].env_names()), missing


@pytest.mark.parametrize("service", sorted(SCHEMAS))
def test_no_service_restates_a_schema_default(service: str) -> None:
    defaults = SCHEMAS[service].model_construct().model_dump()
    for name, value in stockpipe_env(service).items():
        if value is None:
            continue  # passed through: the shell's value, or the schema's default
        match = DEFAULTED.fullmatch(str(value))
        assert match and match.group(1) == name, f"{service}: {name}={value!r}"
        field = next(f for f in defaults if env_name(f) == name)
        assert match.group(2) != str(defaults[field]), f"{service}: {name} restates its default"


def test_the_default_symbols_live_only_in_common_settings() -> None:
    for path in ("docker-compose.yml", "deploy/cdk.json", "deploy/config.py"):
        text = (ROOT / path).read_text()
        assert not [s for s in DEFAULT_SYMBOLS if s in text], path


def test_every_service_drops_all_capabilities_and_gains_no_privileges() -> None:
    for name, service in services().items():
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
    for name in ("producer", "consumer", "trend", "init"):
        assert services()[name]["read_only"] is True, name
