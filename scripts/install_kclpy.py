"""Install amazon-kclpy 3.1.3 with the KCL 3 MultiLangDaemon jars, verified against the
committed manifest (consumer/kcl_jars.tsv), with or without Maven Central.

The official sdist downloads the jars its pom.xml lists from Maven Central while it builds and
skips any jar already present. Both paths below build that sdist (hash-pinned, from PyPI) with
its pom rewritten to list exactly the manifest's artifacts; they differ only in where the jar
bytes come from, chosen explicitly (never a silent fallback from one to the other):

  --jars-from pypi   (default; STOCKPIPE_KCL_JARS_FROM) the jars of the hash-pinned PyPI wheel
                     kclpy-ext 3.1.3.post4, checked against the manifest before the build
  --jars-from maven  the sdist's own download from Maven Central (or the mirror named by
                     KCL_MVN_REPO_SEARCH_URL); also how to re-verify the manifest's sums

Either way the installed jars are checked against the manifest afterwards, and any difference
fails the install with the list of differences. See docs/kcl.md.

    python scripts/install_kclpy.py [--jars-from pypi|maven]
    python scripts/install_kclpy.py --wheel-dir DIR     # a wheel with the jars (docker/)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consumer.kcl_jars import Jar, JarCheckError, manifest, problems

VERSION = "3.1.3"
SDIST = (
    f"amazon-kclpy=={VERSION} --no-binary amazon-kclpy "
    "--hash=sha256:146bf4a85c79eb6d3c842075d7fe2a1ffad3f2944c24db202add5e2a875259c9"
)
JAR_WHEEL = (
    "kclpy-ext==3.1.3.post4 "
    "--hash=sha256:6c8ced93674bd30103b9bdc319702e3637d2833641bbe58dda578f8a418858c2"
)
SOURCES = ("pypi", "maven")
POM = """<?xml version="1.0" encoding="UTF-8"?>
<!-- written by scripts/install_kclpy.py from consumer/kcl_jars.tsv -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>software.amazon.kinesis</groupId>
  <artifactId>amazon-kclpy</artifactId>
  <version>{version}</version>
  <properties><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False
    )


def fail(message: str) -> None:
    sys.exit(f"install_kclpy: {message}")


def installed_problems() -> list[str] | None:
    """None when no amazon-kclpy {VERSION} is installed, else its jars' differences."""
    probe = (
        "import amazon_kclpy, importlib.metadata as m, pathlib, sys; "
        f"m.version('amazon-kclpy') == '{VERSION}' or sys.exit(1); "
        "print(pathlib.Path(amazon_kclpy.__file__).parent / 'jars')"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        return None
    return problems(Path(found.stdout.strip()))


def download(requirement: str, work: Path) -> Path:
    """pip download with --require-hashes: the file PyPI serves must be the one pinned here."""
    pinned = work / "pinned.txt"
    pinned.write_text(requirement + "\n")
    before = set(work.iterdir())
    result = pip(
        "download", "--no-deps", "-q", "--require-hashes", "-d", str(work), "-r", str(pinned)
    )
    if result.returncode != 0:
        fail(f"pip download {requirement.split(maxsplit=1)[0]} failed:\n{result.stderr}")
    return next(p for p in set(work.iterdir()) - before)


def write_pom(source: Path, jars: list[Jar]) -> None:
    dependency = (
        "    <dependency><groupId>{j.group}</groupId><artifactId>{j.artifact}</artifactId>"
        "<version>{j.version}</version></dependency>"
    )
    (source / "pom.xml").write_text(
        POM.format(version=VERSION, dependencies="\n".join(dependency.format(j=j) for j in jars))
    )


def seed_from_wheel(wheel: Path, jars_dir: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        for name in whl.namelist():
            if name.startswith("amazon_kclpy/jars/") and name.endswith(".jar"):
                (jars_dir / Path(name).name).write_bytes(whl.read(name))


def prepared_source(work: Path, jars_from: str) -> Path:
    """The official sdist, unpacked, its pom = the manifest; jars seeded when from PyPI."""
    sdist = download(SDIST, work)
    with tarfile.open(sdist) as tar:
        tar.extractall(work, filter="data")
    source = work / f"amazon_kclpy-{VERSION}"
    write_pom(source, manifest())
    jars_dir = source / "amazon_kclpy" / "jars"
    jars_dir.mkdir(parents=True, exist_ok=True)
    if jars_from == "pypi":
        seed_from_wheel(download(JAR_WHEEL, work), jars_dir)
    else:  # the sdist's own downloader, before anything is built or installed
        subprocess.run(
            [sys.executable, "setup.py", "-q", "download_jars"],
            cwd=source,
            capture_output=True,
            check=False,
        )
    found = problems(jars_dir)
    if found:
        fail(f"the jars from {jars_from} do not match the manifest:\n  " + "\n  ".join(found))
    return source


def install(jars_from: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = prepared_source(Path(tmp), jars_from)
        result = pip("install", "--no-cache-dir", str(source))
    if result.returncode != 0:
        fail(f"installing amazon-kclpy from the prepared sdist failed:\n{result.stderr}")
    found = installed_problems()
    if found is None or found:
        fail("the installed KCL jars do not match the manifest:\n  " + "\n  ".join(found or []))


def build_wheel(wheel_dir: Path, jars_from: str) -> None:
    """A wheel with the verified jars inside, for offline image builds (the docker/ wheelhouse)."""
    wheels = list(wheel_dir.glob(f"amazon_kclpy-{VERSION}-*.whl"))
    if not wheels:
        with tempfile.TemporaryDirectory() as tmp:
            source = prepared_source(Path(tmp), jars_from)
            result = pip("wheel", "-q", "--no-deps", "-w", str(wheel_dir), str(source))
        if result.returncode != 0:
            fail(f"building the amazon-kclpy wheel failed:\n{result.stderr}")
        wheels = list(wheel_dir.glob(f"amazon_kclpy-{VERSION}-*.whl"))
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheels[0]) as whl:
        whl.extractall(tmp, [n for n in whl.namelist() if n.endswith(".jar")])
        found = problems(Path(tmp, "amazon_kclpy", "jars"))
    if found:
        fail(f"{wheels[0]} carries jars that do not match the manifest:\n  " + "\n  ".join(found))
    print(f"amazon-kclpy {VERSION} wheel with verified jars in {wheel_dir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--jars-from",
        choices=SOURCES,
        default=os.environ.get("STOCKPIPE_KCL_JARS_FROM", "pypi"),
        help="where the jar bytes come from (both are checked against the manifest)",
    )
    parser.add_argument("--wheel-dir", type=Path, help="build a wheel into this folder")
    args = parser.parse_args()
    if args.jars_from not in SOURCES:
        fail(f"STOCKPIPE_KCL_JARS_FROM must be one of {SOURCES}, not {args.jars_from!r}")
    if args.wheel_dir:
        build_wheel(args.wheel_dir, args.jars_from)
        return
    found = installed_problems()
    if found == []:
        print(f"amazon-kclpy {VERSION} installed, its {len(manifest())} jars match the manifest")
        return
    if found:
        print(
            "the installed KCL jars differ from the manifest; reinstalling:\n  "
            + "\n  ".join(found)
        )
    print(f"installing amazon-kclpy {VERSION}, jars from {args.jars_from}...", flush=True)
    install(args.jars_from)
    print(f"amazon-kclpy {VERSION} installed; {len(manifest())} jars match the manifest")


if __name__ == "__main__":
    try:
        main()
    except JarCheckError as e:
        fail(str(e))
