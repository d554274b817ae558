"""GIVEN pyproject.toml WHEN the images' locks are checked THEN each lock was generated from
the image's inputs as pyproject.toml states them today, pins every input inside its range,
hashes every pin, and the runtime images carry none of the local stack's packages."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]


def lock_images() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lock_images", ROOT / "scripts/lock_images.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("lock_images", module)
    spec.loader.exec_module(module)
    return module


LOCKS = lock_images()
INPUTS = LOCKS.image_inputs(LOCKS.pyproject())


@pytest.mark.parametrize("image", sorted(INPUTS))
def test_each_lock_matches_pyproject(image: str) -> None:
    assert LOCKS.problems(image, INPUTS[image]) == []


def test_a_changed_range_in_pyproject_makes_the_lock_stale() -> None:
    changed = [r.replace("boto3>=1.34", "boto3>=99") for r in INPUTS["producer"]]
    found = LOCKS.problems("producer", changed)
    assert any("locked from other inputs" in p for p in found)
    assert any("boto3==" in p and "outside >=99" in p for p in found)


def test_an_unhashed_pin_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = (ROOT / "docker/requirements-consumer.txt").read_text()
    stripped = "\n".join(ln for ln in lock.splitlines() if "sha256" not in ln or "polars==" in ln)
    monkeypatch.setattr(LOCKS, "LOCK_DIR", tmp_path)
    (tmp_path / "requirements-consumer.txt").write_text(stripped.replace(" \\\n", "\n"))
    assert any("has no hash" in p for p in LOCKS.problems("consumer", INPUTS["consumer"]))


@pytest.mark.parametrize("image", ["producer", "consumer", "trend-lambda"])
def test_runtime_images_carry_no_local_stack_packages(image: str) -> None:
    pinned = LOCKS.pins((ROOT / f"docker/requirements-{image}.txt").read_text())
    assert not {"moto", "hypercorn", "duckdb", "sqlglot"} & set(pinned)
