"""Rewrite the settings anchors of docker-compose.yml from the schemas in common/settings.py.

Each `x-<service>-settings` block lists every STOCKPIPE_* variable of its schema with no
value (compose passes the shell's value through; unset, the schema's default applies).
Run after adding a setting: `python scripts/compose_env.py`; the unit test
tests/unit/deploy/test_compose_settings.py fails until the file matches.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.settings import (
    ConsumerSettings,
    ProducerSettings,
    Settings,
    TrendSettings,
)

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
SERVICES = ProducerSettings, ConsumerSettings, TrendSettings
ANCHORS = {
    "producer": ProducerSettings.env_names(),
    "consumer": ConsumerSettings.env_names(),
    "trend": TrendSettings.env_names(),
    # the CLI (provisioning, the trend runner): what the three above do not list
    "cli": [n for n in Settings.env_names() if not any(n in s.env_names() for s in SERVICES)],
}


def rendered(text: str) -> str:
    for anchor, names in ANCHORS.items():
        block = re.compile(rf"(x-{anchor}-settings: &{anchor}-settings\n)(?:  \w+:.*\n)+")
        if not block.search(text):
            raise SystemExit(f"docker-compose.yml has no x-{anchor}-settings block")
        text = block.sub(lambda m, n=names: m.group(1) + "".join(f"  {v}:\n" for v in n), text)
    return text


if __name__ == "__main__":
    COMPOSE.write_text(rendered(COMPOSE.read_text()))
