"""The jar manifest check: a copy of the installed (verified) jars passes, one changed byte,
a missing jar or an extra jar fails it, and the daemon launcher refuses such a set."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from consumer import daemon, kcl_jars


@pytest.fixture
def jars(tmp_path: Path) -> Path:
    copy = tmp_path / "jars"
    shutil.copytree(kcl_jars.installed_jars_dir(), copy)
    return copy


def tamper(jar: Path) -> None:
    data = bytearray(jar.read_bytes())
    data[len(data) // 2] ^= 0x01
    jar.write_bytes(bytes(data))


def test_the_manifest_names_kcl_3_and_the_installed_jars_match_it(jars: Path) -> None:
    by_artifact = {j.artifact: j for j in kcl_jars.manifest()}
    assert by_artifact["amazon-kinesis-client-multilang"].version == "3.1.3"
    assert by_artifact["kinesis"].version == "2.33.0"
    assert len(by_artifact) == 79
    assert kcl_jars.problems(jars) == []


def test_one_changed_byte_fails_the_check_naming_the_jar(jars: Path) -> None:
    tamper(jars / "amazon-kinesis-client-3.1.3.jar")
    (problem,) = kcl_jars.problems(jars)
    assert problem.startswith("SHA-256 mismatch: amazon-kinesis-client-3.1.3.jar")
    with pytest.raises(kcl_jars.JarCheckError, match="refusing to use them"):
        kcl_jars.verify(jars)


def test_a_missing_or_an_extra_jar_fails_the_check(jars: Path) -> None:
    (jars / "netty-common-4.2.16.Final.jar").unlink()
    shutil.copy(jars / "kinesis-2.33.0.jar", jars / "kinesis-2.99.0.jar")
    assert kcl_jars.problems(jars) == [
        "missing: netty-common-4.2.16.Final.jar",
        "not in the manifest: kinesis-2.99.0.jar",
    ]


def test_the_launcher_refuses_a_tampered_jar_set(
    jars: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tamper(jars / "sdk-core-2.33.0.jar")
    monkeypatch.setattr(kcl_jars, "installed_jars_dir", lambda: jars)
    with pytest.raises(daemon.DaemonError, match=r"sdk-core-2\.33\.0\.jar"):
        daemon.jars_dir()


def test_the_image_check_exits_non_zero_on_a_tampered_jar(jars: Path) -> None:
    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "consumer.kcl_jars", str(jars)],
            capture_output=True,
            text=True,
            check=False,
        )

    assert check().returncode == 0
    tamper(jars / "logback-core-1.3.16.jar")
    result = check()
    assert result.returncode == 1
    assert "SHA-256 mismatch: logback-core-1.3.16.jar" in result.stderr
