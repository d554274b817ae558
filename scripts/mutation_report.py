"""Per-module mutation score from mutmut's results in mutants/ (run by `make mutation`).

mutmut 3 keeps one `mutants/<module>.py.meta` (JSON: exit code per mutant) next to the mutated
copy of each module, in which every mutant is a function `<name>__mutmut_<n>` beside the
original `<name>__mutmut_orig`. This reads both: the counts per module, and for each survivor
the line it changed. Mutants listed in scripts/mutation_equivalents.toml (with the line they
change and why no test can tell them apart) are counted apart; an entry whose mutant no longer
changes that line is stale and fails the report, so the list cannot silently drift.

    python scripts/mutation_report.py [--survivors FILE] [--fail-under PCT] [--before DIR]
                                      [MODULE ...]

`--before DIR` adds the score of an earlier run (its `.meta` files, laid out as in mutants/,
e.g. a copy made with `cp -r mutants mutants-before` before adding tests) next to each module.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import re
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.toml"
_MUTANT_DEF = re.compile(r"(?P<function>.+)__mutmut_(?P<n>orig|\d+)$")

# mutmut's exit codes (mutmut/stats.py): the test run's exit code, or its own markers
_STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests"}
_STATUS |= dict.fromkeys((36, 24, -24, 152, 255), "timeout")  # a hang counts as detected
_DETECTED = ("killed", "timeout")


@dataclass(frozen=True)
class Equivalent:
    mutant: str
    line: str
    reason: str


@dataclass
class ModuleScore:
    module: str
    statuses: Counter[str]
    equivalent: list[str]
    survivors: dict[str, tuple[str, str]]  # mutant -> (status, changed lines), no equivalents

    @property
    def mutants(self) -> int:
        return sum(self.statuses.values())

    @property
    def killed(self) -> int:
        return sum(self.statuses[s] for s in _DETECTED)

    @property
    def timeouts(self) -> int:
        return self.statuses["timeout"]

    def undetected(self, status: str) -> int:
        """Mutants of that status that are not listed as equivalent."""
        return sum(1 for result, _ in self.survivors.values() if result == status)

    @property
    def score(self) -> float:
        scored = self.mutants - len(self.equivalent)
        return 100.0 * self.killed / scored if scored else 100.0


def status(exit_code: int | None) -> str:
    if exit_code is None:
        return "not checked"
    return _STATUS.get(exit_code, "suspicious")


def mutant_diffs(mutated_file: Path, module: str) -> dict[str, str]:
    """`module.function__mutmut_n` -> the lines that mutant changed (`- old` / `+ new`)."""
    source = mutated_file.read_text()
    bodies: dict[str, dict[str, list[str]]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            match = _MUTANT_DEF.fullmatch(node.name)
            if match:
                text = ast.get_source_segment(source, node) or ""
                body = [line.strip() for line in text.splitlines()[1:]]
                bodies.setdefault(match["function"], {})[match["n"]] = body
    diffs = {}
    for function, versions in bodies.items():
        original = versions.pop("orig", [])
        for n, body in versions.items():
            changed = [
                line
                for line in difflib.unified_diff(original, body, lineterm="", n=0)
                if line[:1] in "+-" and line[:3] not in ("+++", "---")
            ]
            diffs[f"{module}.{function}__mutmut_{n}"] = "\n".join(changed)
    return diffs


def load_equivalents(path: Path = EQUIVALENTS) -> list[Equivalent]:
    if not path.exists():
        return []
    entries = tomllib.loads(path.read_text()).get("equivalent", [])
    return [Equivalent(e["mutant"], e["line"], e["reason"]) for e in entries]


def score_module(
    relative: str,
    equivalents: dict[str, Equivalent],
    stale: list[str],
    results: Path = MUTANTS,
) -> ModuleScore:
    """Counts of one module from `results` (mutmut's `.meta`); the changed lines (and so the
    stale check of the equivalents) come from the mutated copy in mutants/."""
    module = relative.removesuffix(".py").replace("/", ".")
    meta = json.loads((results / f"{relative}.meta").read_text())
    diffs = mutant_diffs(MUTANTS / relative, module)
    statuses: Counter[str] = Counter()
    equivalent, survivors = [], {}
    for mutant, code in meta["exit_code_by_key"].items():
        result = status(code)
        statuses[result] += 1
        known = equivalents.get(mutant)
        if known is not None and known.line not in diffs.get(mutant, ""):
            stale.append(f"{mutant}: no longer changes {known.line!r}")
            known = None
        if result in _DETECTED:
            continue
        if known is not None:
            equivalent.append(mutant)
        else:
            survivors[mutant] = (result, diffs.get(mutant, "?"))
    return ModuleScore(module, statuses, equivalent, survivors)


def table(scores: list[ModuleScore], before: dict[str, ModuleScore] | None = None) -> str:
    """One row per module; killed includes timeouts (a hang is detected), shown apart too."""
    head = "| module | mutants | killed (timeout) | survived | no test | equivalent | score |"
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    if before is not None:
        head, rule = f"{head} before |", f"{rule}---:|"
    lines = [head, rule]
    for s in scores:
        row = (
            f"| {s.module} | {s.mutants} | {s.killed} ({s.timeouts}) "
            f"| {s.undetected('survived')} | {s.undetected('no tests')} | {len(s.equivalent)} "
            f"| {s.score:.0f}% |"
        )
        if before is not None:
            was = before.get(s.module)
            row += f" {was.killed}/{was.mutants} = {was.score:.0f}% |" if was else " n/a |"
        lines.append(row)
    return "\n".join(lines)


def survivor_listing(scores: list[ModuleScore]) -> str:
    out = []
    for s in scores:
        if not s.survivors:
            continue
        out.append(f"## {s.module}: {len(s.survivors)} not detected\n")
        for mutant, (result, diff) in sorted(s.survivors.items()):
            out.append(f"- `{mutant}` ({result})")
            out.extend(f"      {line}" for line in diff.splitlines())
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", type=Path, help="write the undetected mutants here")
    parser.add_argument("--fail-under", type=float, help="exit 1 if a module scores less")
    parser.add_argument("--before", type=Path, help="an earlier run's results, for comparison")
    parser.add_argument(
        "--results", type=Path, default=MUTANTS, help="the run to score (default: mutants/)"
    )
    parser.add_argument("modules", nargs="*", help="only these (dotted names); default: all")
    args = parser.parse_args(argv)

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    equivalents = {e.mutant: e for e in load_equivalents()}
    stale: list[str] = []
    paths = [
        path
        for path in config["only_mutate"]
        if not args.modules or path.removesuffix(".py").replace("/", ".") in args.modules
    ]
    scores = [score_module(path, equivalents, stale, args.results) for path in paths]
    before = None
    if args.before:
        ignored: list[str] = []  # an earlier run may predate an edit that renumbered mutants
        before = {
            s.module: s
            for s in (
                score_module(path, equivalents, ignored, args.before)
                for path in paths
                if (args.before / f"{path}.meta").exists()
            )
        }
    print(table(scores, before))
    if args.survivors:
        args.survivors.write_text(survivor_listing(scores))
        print(f"\nundetected mutants with their changed lines: {args.survivors}")
    failed = False
    for line in stale:
        print(f"stale equivalent: {line}", file=sys.stderr)
        failed = True
    if args.fail_under is not None:
        for s in scores:
            if s.score < args.fail_under:
                print(f"{s.module}: {s.score:.0f}% < {args.fail_under:.0f}%", file=sys.stderr)
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
