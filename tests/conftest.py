"""Marks each test with its tier from its folder, so `-m` selects tiers."""

from __future__ import annotations

import pytest

TIERS = ("integration", "kcl", "docker", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))
