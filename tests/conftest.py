"""Marks each test with its tier from its folder, so `-m` selects tiers; runs the unit tier
first (a run given test ids in any order, as `mutmut` gives them, fails on the cheap ones)."""

from __future__ import annotations

import pytest

TIERS = ("integration", "kcl", "docker", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))
    items.sort(key=lambda item: "unit" not in item.path.parts)
