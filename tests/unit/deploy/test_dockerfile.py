"""GIVEN docker/Dockerfile WHEN read stage by stage THEN the default base is pinned by digest
(and overridable), locks install with hashes, and no runtime stage holds the wheelhouse,
a lock or pip's inputs: only build stages do."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RUNTIME = {"base", "runtime", "producer", "consumer", "emulator", "trend", "trend-lambda"}


def stages() -> dict[str, list[str]]:
    """stage name -> its instructions (continuation lines joined)."""
    text = (ROOT / "docker/Dockerfile").read_text().replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("FROM "):
            current = line.split(" AS ")[-1].strip()
            found[current] = [line]
        elif line and not line.startswith("#") and current:
            found[current].append(line)
    return found


def test_the_default_base_is_pinned_by_digest_and_overridable() -> None:
    (first,) = stages()["base"][:1]
    assert re.fullmatch(r"FROM \$\{BASE_IMAGE:-python:[\w.-]+@sha256:[0-9a-f]{64}\} AS base", first)


def test_every_lock_installs_with_hashes_in_a_build_stage() -> None:
    for name, lines in stages().items():
        for line in lines:
            if "pip install" in line and " -r " in line:
                assert name.startswith("build-"), name
                assert "--require-hashes" in line and "--no-deps" in line, name


def test_no_runtime_stage_holds_the_wheelhouse_or_a_lock() -> None:
    found = stages()
    assert set(found) >= RUNTIME
    for name in RUNTIME:
        for line in found[name]:
            assert "wheelhouse" not in line and "requirements" not in line, (name, line)
            if line.startswith("COPY --from="):
                assert line.split()[1].startswith("--from=build-"), (name, line)
