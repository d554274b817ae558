"""scripts/install_kclpy.py's Maven path, against a local Maven repository over HTTP (Maven
Central is unreachable here; KCL_MVN_REPO_SEARCH_URL is the official sdist's own switch for a
mirror): the sdist's downloader fetches the manifest's jars, and one tampered jar stops the
build before anything is built or installed. Needs PyPI for the hash-pinned sdist (~10 s)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from consumer import kcl_jars

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install_kclpy.py"


@pytest.fixture
def maven_repo(tmp_path: Path) -> Iterator[Path]:
    """The manifest's jars in Maven's layout, served on 127.0.0.1; yields the folder."""
    root = tmp_path / "maven2"
    installed = kcl_jars.installed_jars_dir()
    for jar in kcl_jars.manifest():
        target = root / jar.maven_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(installed / jar.filename, target)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["KCL_MVN_REPO_SEARCH_URL"] = f"http://127.0.0.1:{server.server_port}/"
    try:
        yield root
    finally:
        del os.environ["KCL_MVN_REPO_SEARCH_URL"]
        server.shutdown()


def build_wheel(wheel_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--jars-from", "maven", "--wheel-dir", str(wheel_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_maven_path_builds_a_wheel_of_exactly_the_manifests_jars(
    maven_repo: Path, tmp_path: Path
) -> None:
    result = build_wheel(tmp_path / "wheels")
    assert result.returncode == 0, result.stderr
    assert "wheel with verified jars" in result.stdout
    assert [w.name for w in (tmp_path / "wheels").iterdir()] == [
        "amazon_kclpy-3.1.3-py3-none-any.whl"
    ]


def test_a_tampered_jar_from_the_repository_stops_the_build(
    maven_repo: Path, tmp_path: Path
) -> None:
    (jar,) = [j for j in kcl_jars.manifest() if j.artifact == "amazon-kinesis-client"]
    served = maven_repo / jar.maven_path
    served.write_bytes(served.read_bytes() + b"\0")
    result = build_wheel(tmp_path / "wheels")
    assert result.returncode != 0
    assert "the jars from maven do not match the manifest" in result.stderr
    assert f"SHA-256 mismatch: {jar.filename}" in result.stderr
    assert not (tmp_path / "wheels").exists() or not list((tmp_path / "wheels").iterdir())
