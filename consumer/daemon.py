"""Launch the real KCL MultiLangDaemon with a properties file rendered from settings.

The daemon (Java) owns leases, shard discovery and checkpoints in DynamoDB; it starts one
`python -m consumer.kcl_app` child per shard it leases. SIGTERM/SIGINT are forwarded so the
daemon's graceful shutdown runs `shutdown_requested` (flush + checkpoint) in every child.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from types import FrameType

import boto3

from common.settings import ConsumerSettings
from consumer import kcl_jars

log = logging.getLogger(__name__)

MULTILANG_DAEMON = "software.amazon.kinesis.multilang.MultiLangDaemon"

LOGBACK = """<configuration>
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%d{HH:mm:ss} %-5level kcl %logger{0}: %msg%n</pattern></encoder>
  </appender>
  <logger name="software.amazon.kinesis" level="${KCL_LOG_LEVEL:-INFO}"/>
  <logger name="software.amazon.kinesis.multilang" level="${KCL_LOG_LEVEL:-WARN}"/>
  <!-- the task prints each child stderr line to the JVM's stderr as it is (the child's own
       JSON log line) and also logs it at ERROR: keep the line, drop the ERROR copy -->
  <logger name="software.amazon.kinesis.multilang.DrainChildSTDERRTask" level="OFF"/>
  <root level="WARN"><appender-ref ref="STDERR"/></root>
</configuration>
"""


class DaemonError(RuntimeError):
    """The daemon cannot be started (no Java, no jars, no region)."""


def jars_dir() -> Path:
    """The installed daemon jars, exactly the manifest's (consumer/kcl_jars.tsv) or none."""
    jars = kcl_jars.installed_jars_dir()
    try:
        kcl_jars.verify(jars)
    except kcl_jars.JarCheckError as e:
        raise DaemonError(f"{e}\nreinstall with scripts/install_kclpy.py") from e
    return jars


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home, "bin", "java") if java_home else None
    if candidate and candidate.exists():
        return str(candidate)
    found = shutil.which("java")
    if not found:
        raise DaemonError(
            "no Java runtime found: install one (e.g. apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME"
        )
    return found


def resolve_region(settings: ConsumerSettings) -> str:
    region = settings.region or boto3.session.Session().region_name
    if not region:
        raise DaemonError("no AWS region: set STOCKPIPE_REGION or AWS_REGION")
    return str(region)


def render_properties(
    settings: ConsumerSettings,
    *,
    region: str,
    endpoint: str | None,
    worker_id: str,
    python: str = sys.executable,
) -> str:
    """The MultiLangDaemon configuration; endpoints only when talking to an emulator."""
    lines = {
        "executableName": f"{python} -m consumer.kcl_app",
        "streamName": settings.stream_name,
        "applicationName": settings.consumer_application,
        "AwsCredentialsProvider": "DefaultCredentialsProvider",
        "processingLanguage": f"python/{sys.version_info.major}.{sys.version_info.minor}",
        "initialPositionInStream": "TRIM_HORIZON",
        "regionName": region,
        "workerId": worker_id,
        "retrievalMode": "POLLING",
        "idleTimeBetweenReadsInMillis": str(settings.consumer_poll_ms),
        "maxRecords": str(settings.consumer_max_records),
        "callProcessRecordsEvenForEmptyRecordList": "true",
        "failoverTimeMillis": str(settings.kcl_failover_ms),
        "shardSyncIntervalMillis": str(settings.kcl_shard_sync_ms),
        "shutdownGraceMillis": str(settings.kcl_shutdown_grace_ms),
        "workerMetricsReporterFreqInMillis": str(settings.kcl_worker_metrics_ms),
        "metricsLevel": "NONE",
    }
    if settings.kcl_coordinator_table:
        lines["coordinatorStateTableName"] = settings.kcl_coordinator_table
    if settings.kcl_worker_metrics_table:
        lines["workerMetricsTableName"] = settings.kcl_worker_metrics_table
    if endpoint:
        lines |= {
            "kinesisEndpoint": endpoint,
            "dynamoDBEndpoint": endpoint,
            "cloudWatchClient.endpointOverride": endpoint,
        }
    return "".join(f"{key} = {value}\n" for key, value in lines.items())


def command(java: str, properties: Path, logback: Path) -> list[str]:
    return [
        java,
        "-Daws.cborEnabled=false",
        "-cp",
        f"{jars_dir()}/*",
        MULTILANG_DAEMON,
        "--properties-file",
        str(properties),
        "--log-configuration",
        str(logback),
    ]


def run_daemon(settings: ConsumerSettings, workdir: Path, *, worker_id: str | None = None) -> int:
    """Run the daemon in the foreground until it exits; returns its exit code."""
    workdir.mkdir(parents=True, exist_ok=True)
    # unique even for containers sharing the host's name and PID 1 (host networking):
    # two workers with one id would be a single worker to the KCL
    worker = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    properties = workdir / f"{worker}.properties"
    properties.write_text(
        render_properties(
            settings,
            region=resolve_region(settings),
            endpoint=os.environ.get("AWS_ENDPOINT_URL_KINESIS")
            or os.environ.get("AWS_ENDPOINT_URL"),
            worker_id=worker,
        )
    )
    logback = workdir / "logback.xml"
    logback.write_text(LOGBACK)
    argv = command(find_java(), properties, logback)
    log.info("starting KCL MultiLangDaemon worker %s on stream %s", worker, settings.stream_name)
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sys.stderr)

    forwarded: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        log.info("forwarding %s to the daemon for a graceful shutdown", signal.Signals(signum).name)
        forwarded.append(signum)
        process.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return exit_code(code, forwarded)


def exit_code(code: int, forwarded: list[int]) -> int:
    """The JVM exits 128+signal after its shutdown hook even when the stop was clean: a stop
    we asked for is a success. (KCL 2.5.8's hook also times out, see docs/kcl.md.)"""
    if forwarded and code in {128 + s for s in forwarded} | {-s for s in forwarded}:
        return 0
    return code
