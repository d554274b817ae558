"""One emulator and one demo run for the whole module (the demo takes ~10 s): this folder's
tests read a finished run and change nothing, so the per-test emulator reset is not used."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def aws_env() -> Iterator[None]:
    """Replaces the tier's per-test reset; the module fixtures set up their own stack."""
    yield
