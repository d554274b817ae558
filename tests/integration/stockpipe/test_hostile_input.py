"""Input from outside the pipeline cannot reach past it: object keys planted in the emulator,
web pages calling the emulator, SQL that reads or writes local files, values printed for
`eval`, and subscription endpoints."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from common import aws
from common.settings import Settings
from stockpipe import emulator, history_snapshot
from stockpipe.provision import Resources
from tests.cli_process import stockpipe


def test_snapshot_save_keeps_hostile_keys_inside_its_folder(
    settings: Settings, resources: Resources, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a bucket where someone planted keys that climb out of the snapshot folder
    s3 = aws.client("s3")
    for key in ("ticks/dt=2025-11-24/a.parquet", "ticks/../../escaped.txt", "ticks/../x.txt"):
        s3.put_object(Bucket=resources.bucket, Key=key, Body=b"data")
    folder = tmp_path / "state" / "history"
    # WHEN `stockpipe up` saves the history on a clean stop
    with caplog.at_level(logging.WARNING, logger="stockpipe.history_snapshot"):
        saved = history_snapshot.save(s3, resources.bucket, folder)
    # THEN nothing is written outside the folder, and the refusal is logged
    assert not (tmp_path / "escaped.txt").exists()
    assert (folder / "ticks/dt=2025-11-24/a.parquet").read_bytes() == b"data"
    assert (folder / "x.txt").exists()  # ticks/../x.txt stays inside: kept
    assert saved == 2
    assert "ticks/../../escaped.txt" in caplog.text and "outside" in caplog.text


def test_snapshot_restore_skips_links_out_and_files_beyond_the_history(
    resources: Resources, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    folder = tmp_path / "history"
    (folder / "ticks" / "dt=2025-11-24").mkdir(parents=True)
    (folder / "ticks" / "dt=2025-11-24" / "a.parquet").write_bytes(b"data")
    (folder / "ticks" / "link.parquet").symlink_to(secret)
    (folder / "notes.txt").write_text("not history")
    with caplog.at_level(logging.WARNING, logger="stockpipe.history_snapshot"):
        restored = history_snapshot.restore(aws.client("s3"), resources.bucket, folder)
    listed = aws.client("s3").list_objects_v2(Bucket=resources.bucket).get("Contents", [])
    assert [o["Key"] for o in listed] == ["ticks/dt=2025-11-24/a.parquet"]
    assert restored == 1
    assert "link.parquet" in caplog.text and "notes.txt" in caplog.text


def request(endpoint: str, path: str, **headers: str) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(f"{endpoint}{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def test_the_emulator_answers_only_its_own_loopback_host(emulator_endpoint: str) -> None:
    port = emulator_endpoint.rsplit(":", 1)[1]
    # a page on a rebinding domain reaches 127.0.0.1, but its Host header names the domain
    assert request(emulator_endpoint, "/moto-api/data.json", Host=f"evil.example:{port}")[0] == 403
    assert request(emulator_endpoint, "/moto-api/data.json", Host="127.0.0.1:1")[0] == 403
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"bucket.localhost:{port}"):
        assert request(emulator_endpoint, "/moto-api/data.json", Host=host)[0] == 200


def test_the_emulator_allows_no_cross_origin_reads(
    emulator_endpoint: str, resources: Resources
) -> None:
    status, headers = request(
        emulator_endpoint, f"/{resources.bucket}?list-type=2", Origin="http://evil.example"
    )
    assert status == 200
    assert not any(name.lower().startswith("access-control-") for name in headers)


def test_the_emulator_health_check_parses_check(emulator_endpoint: str) -> None:
    bind = emulator_endpoint.removeprefix("http://")
    check = [sys.executable, "-m", "stockpipe.emulator"]
    env = {**os.environ, "EMULATOR_BIND": bind}
    assert subprocess.run([*check, "--check"], env=env, check=False).returncode == 0
    dead = {**env, "EMULATOR_BIND": f"127.0.0.1:{emulator.free_port()}"}
    assert subprocess.run([*check, "--check"], env=dead, check=False).returncode == 1
    usage = subprocess.run(check, env=env, capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and "--check" in usage.stderr


HOSTILE = "ticks; touch {marker} $(touch {marker}) `touch {marker}` 'q' \"d\""


def test_env_lines_survive_eval_unchanged(tmp_path: Path) -> None:
    # GIVEN a deployed data stack whose outputs hold shell syntax
    marker = tmp_path / "ran"
    value = HOSTILE.format(marker=marker)
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"StreamName": {"Value": value}, "BucketName": {"Value": "plain-bucket"}},
    }
    aws.client("cloudformation").create_stack(
        StackName="stockpipe-data", TemplateBody=json.dumps(template)
    )
    # WHEN the user evaluates `stockpipe env`
    printed = stockpipe("env")
    assert printed.returncode == 0, printed.stderr
    shell = subprocess.run(
        ["bash", "-c", 'eval "$1"; printf %s "$STOCKPIPE_STREAM_NAME"', "-", printed.stdout],
        cwd=tmp_path,  # were it to run, it would touch files here, not in the checkout
        capture_output=True,
        text=True,
        check=True,
    )
    # THEN the variable holds the value as it was, and nothing ran
    assert shell.stdout == value
    assert not marker.exists()
    assert "export STOCKPIPE_BUCKET=plain-bucket" in printed.stdout.splitlines()


def test_subscribe_never_creates_the_alerts_topic(aws_env: str) -> None:
    # GIVEN an account without the alerts topic (nothing provisioned)
    result = stockpipe("subscribe", "email", "me@example.com")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "alerts topic 'stockpipe-alerts' does not exist" in line and "stockpipe up" in line
    assert aws.client("sns").list_topics()["Topics"] == []


def test_subscribe_refuses_a_malformed_endpoint(resources: Resources) -> None:
    sns = aws.client("sns")
    before = sns.list_subscriptions()["Subscriptions"]
    result = stockpipe("subscribe", "sms", "0612345678")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: sms endpoint '0612345678' is not an E.164 phone number: + country code and "
        "number, digits only, e.g. +14155550100"
    ]
    # the local stack's own queues (alerts, dashboard) and nothing more
    assert sns.list_subscriptions()["Subscriptions"] == before
    assert {s["Protocol"] for s in before} == {"sqs"}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "COPY (SELECT * FROM ticks) TO '{out}'",
        "SELECT * FROM '/etc/passwd'",
    ],
)
def test_query_refuses_local_files(sql: str, resources: Resources, tmp_path: Path) -> None:
    out = tmp_path / "copied.csv"
    result = stockpipe("query", sql.format(out=out), "--engine", "local")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    assert "root:" not in result.stdout + result.stderr
    assert not out.exists()
