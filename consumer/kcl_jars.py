"""The KCL daemon's jar set, pinned: the committed manifest (group, artifact, version, SHA-256)
and the check that a jars folder holds exactly those bytes, no more, no less.

The jars run with the consumer's AWS credentials, so every install path checks them
(scripts/install_kclpy.py, the consumer image) and the launcher refuses to start a daemon on a
jar set that differs from the manifest, whatever installed it. Origin of the sums: docs/kcl.md.

    python -m consumer.kcl_jars [JARS_DIR]   # default: the installed amazon_kclpy's jars
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

MANIFEST = Path(__file__).with_name("kcl_jars.tsv")


class JarCheckError(RuntimeError):
    """The jars differ from the manifest: missing, unexpected or altered files."""


@dataclass(frozen=True)
class Jar:
    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def maven_path(self) -> str:
        """Its path in a Maven repository (Maven Central: https://repo1.maven.org/maven2/)."""
        return f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"


def manifest(path: Path = MANIFEST) -> list[Jar]:
    rows = (line.split("\t") for line in path.read_text().splitlines())
    return [Jar(*row) for row in rows if row[0] and not row[0].startswith("#")]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def problems(jars_dir: Path, expected: list[Jar] | None = None) -> list[str]:
    """Every difference between the folder's jars and the manifest, one line each."""
    wanted = {jar.filename: jar for jar in expected or manifest()}
    present = {p.name: p for p in jars_dir.glob("*.jar")}
    found = [f"missing: {name}" for name in sorted(wanted.keys() - present.keys())]
    found += [f"not in the manifest: {name}" for name in sorted(present.keys() - wanted.keys())]
    for name in sorted(wanted.keys() & present.keys()):
        actual = sha256(present[name])
        if actual != wanted[name].sha256:
            found.append(f"SHA-256 mismatch: {name} is {actual}, manifest {wanted[name].sha256}")
    return found


def verify(jars_dir: Path) -> None:
    found = problems(jars_dir)
    if found:
        raise JarCheckError(
            f"the KCL jars in {jars_dir} do not match {MANIFEST.name} "
            f"({len(found)} problem(s)); refusing to use them:\n  " + "\n  ".join(found)
        )


def installed_jars_dir() -> Path:
    import amazon_kclpy

    return Path(amazon_kclpy.__file__).parent / "jars"


def main(argv: list[str]) -> int:
    jars_dir = Path(argv[0]) if argv else installed_jars_dir()
    try:
        verify(jars_dir)
    except JarCheckError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{len(manifest())} KCL jars in {jars_dir} match {MANIFEST.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
