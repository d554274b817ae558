"""The failpoint seam: one list of names that the code and docs/testing.md cannot drift from,
exit at the n-th hit in a process, raise instead of exiting in-process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from common import failpoints

ROOT = Path(__file__).resolve().parents[3]
HIT = re.compile(r"""failpoints\.hit\(\s*["']([^"']+)["']\s*\)""")


def _work_tree_only() -> None:
    """These two read the repository's text, which mutmut's copy (`make mutation`) does not
    hold as written: every mutant's text side by side, and no docs/."""
    if "MUTANT_UNDER_TEST" in os.environ:
        pytest.skip("under mutmut: reads the work tree's text, not behaviour")


def test_the_code_hits_exactly_the_listed_points() -> None:
    _work_tree_only()
    called = [
        name
        for package in ("common", "consumer", "lambdas", "producer", "stockpipe")
        for path in (ROOT / package).rglob("*.py")
        for name in HIT.findall(path.read_text())
    ]
    assert sorted(called) == sorted(failpoints.POINTS)  # each one exactly once


def test_docs_testing_lists_exactly_the_points() -> None:
    _work_tree_only()
    page = (ROOT / "docs" / "testing.md").read_text()
    section = page.split("## Failpoints", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.MULTILINE)
    assert listed == list(failpoints.POINTS)


def test_crashing_raises_at_the_nth_hit_and_only_inside_the_block() -> None:
    with failpoints.crashing("consumer-after-cold-flush", nth=3):
        failpoints.hit("consumer-after-cold-flush")
        failpoints.hit("consumer-after-hot-write")  # another point: not counted
        failpoints.hit("consumer-after-cold-flush")
        with pytest.raises(failpoints.Crash) as raised:
            failpoints.hit("consumer-after-cold-flush")
    assert raised.value.name == "consumer-after-cold-flush"
    assert not isinstance(raised.value, Exception)  # `except Exception` cannot stop it
    failpoints.hit("consumer-after-cold-flush")  # disarmed


def test_crashing_refuses_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="no failpoint 'consumer-after-nothing'"):
        failpoints.crashing("consumer-after-nothing").__enter__()


@pytest.mark.parametrize(
    ("value", "hits_survived"), [("trend-after-save", 0), ("trend-after-save@3", 2)]
)
def test_the_environment_makes_the_process_exit_at_the_nth_hit(
    value: str, hits_survived: int
) -> None:
    script = (
        "from common import failpoints\n"
        "for n in range(5):\n"
        "    failpoints.hit('trend-after-publish')\n"
        "    failpoints.hit('trend-after-save')\n"
        "    print(n, flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={failpoints.ENV: value, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == failpoints.EXIT_CODE
    assert done.stdout.split() == [str(n) for n in range(hits_survived)]
    nth = hits_survived + 1
    assert f"failpoint trend-after-save: exiting (reached {nth} time(s))" in done.stderr


def test_unset_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(failpoints.ENV, raising=False)
    for name in failpoints.POINTS:
        failpoints.hit(name)
