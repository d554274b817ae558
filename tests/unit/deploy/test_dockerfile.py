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


def test_the_docs_name_the_digest_the_dockerfile_pins() -> None:
    """docs/containers.md says how to verify the pin: it must be the pin."""
    (first,) = stages()["base"][:1]
    digest = re.search(r"@(sha256:[0-9a-f]{64})", first)
    assert digest
    containers = (ROOT / "docs/containers.md").read_text()
    assert f"python:3.12-slim-bookworm@{digest[1]}" in containers
    assert f"D={digest[1]}" in containers


def test_every_lock_installs_with_hashes_in_a_build_stage() -> None:
    found = stages()
    for name, lines in found.items():
        for line in lines:
            if "pip install" in line and " -r " in line:
                assert name.startswith("build"), name
                assert "--require-hashes" in line and "--no-deps" in line, name
    (install,) = [line for line in found["build"] if "INSTALL=" in line]
    assert "--require-hashes" in install and "--no-deps" in install
    for name, lines in found.items():
        if name.startswith("build-") and any("requirements" in line for line in lines):
            assert any(line.startswith("RUN $INSTALL ") for line in lines), name


def aws_services_called(packages: list[str]) -> set[str]:
    """Every `client("service")` in the packages an image copies (common.aws.client)."""
    called = set()
    for package in packages:
        for source in (ROOT / package).rglob("*.py"):
            called |= set(re.findall(r"client\(\s*\"([a-z0-9-]+)\"", source.read_text()))
    return called


def test_each_image_keeps_the_botocore_models_of_every_service_its_code_calls() -> None:
    """prune-site drops the other services' models: a client of a dropped one would fail
    with UnknownServiceError at run time, so a new call must be added to the list."""
    found = stages()
    for image in ("producer", "consumer", "trend-lambda"):
        (prune,) = [line for line in found[f"build-{image}"] if "prune-site" in line]
        kept = set(prune.split("prune-site", 1)[1].split("&&")[0].split())
        packages = [
            line.split()[1]
            for line in found[image]
            if line.startswith("COPY ") and not line.startswith("COPY --from")
        ]
        packages += ["common"]  # from the runtime stage (trend-lambda copies it itself)
        called = aws_services_called(sorted(set(packages)))
        assert called and called <= kept, (image, called - kept)


def test_no_runtime_stage_holds_the_wheelhouse_or_a_lock() -> None:
    found = stages()
    assert set(found) >= RUNTIME
    for name in RUNTIME:
        for line in found[name]:
            assert "wheelhouse" not in line and "requirements" not in line, (name, line)
            if line.startswith("COPY --from="):
                assert line.split()[1].startswith("--from=build-"), (name, line)
