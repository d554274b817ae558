"""Run the AWS emulator (moto under Hypercorn) as a child process on a free loopback port."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)
LOCAL_EXTRA = ("moto", "hypercorn")


class EmulatorError(RuntimeError):
    """The emulator did not start or does not answer."""


def free_port() -> int:
    """A port that was free a moment ago; the caller retries if it is taken meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_alive(endpoint: str, timeout: float = 1.0) -> bool:
    """True when an emulator answers at `endpoint`."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=timeout) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def reset(endpoint: str) -> None:
    """Drop every resource in the emulator (between tests)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def check_local_extra() -> None:
    """Fail with the install command when the `local` extra (moto, Hypercorn) is missing."""
    missing = []
    for module in LOCAL_EXTRA:
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if not found:
            missing.append(module)
    if missing:
        raise EmulatorError(
            f"the local stack needs the `local` extra ({', '.join(missing)} missing): "
            "pip install 'stockpipe[local]'"
        )


class Emulator:
    """A moto server child process; `start` returns its endpoint, `stop` ends it."""

    def __init__(
        self,
        *,
        port: int | None = None,
        log_path: Path | None = None,
        app: str = "stockpipe.emulator_app:app",
    ) -> None:
        self._port = port
        self._log_path = log_path
        self._app = app
        self._process: subprocess.Popen[bytes] | None = None
        self.endpoint = ""

    def start(self, timeout: float = 30.0) -> str:
        check_local_extra()
        for _ in range(5):
            port = self._port or free_port()
            if self._launch(port, timeout):
                return self.endpoint
            if self._port:
                break
        raise EmulatorError(f"the AWS emulator did not start (log: {self._log_path or 'stderr'})")

    def _launch(self, port: int, timeout: float) -> bool:
        endpoint = f"http://127.0.0.1:{port}"
        out = self._log_path.open("ab") if self._log_path else subprocess.DEVNULL
        command = [
            sys.executable,
            "-m",
            "hypercorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "1",
            self._app,
        ]
        env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
        self._process = subprocess.Popen(
            command, stdout=out, stderr=out, env=env, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False  # port taken or failed to import; the caller may retry
            if is_alive(endpoint, timeout=0.5):
                self.endpoint = endpoint
                log.info("AWS emulator listening on %s (pid %d)", endpoint, self._process.pid)
                return True
            time.sleep(0.1)
        self.stop()
        return False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """The emulator image's health check: exit 0 when the emulator at EMULATOR_BIND answers."""
    parser = argparse.ArgumentParser(prog="python -m stockpipe.emulator", description=main.__doc__)
    parser.add_argument(
        "--check", action="store_true", required=True, help="probe the emulator and exit"
    )
    parser.parse_args(argv)
    bind = os.environ.get("EMULATOR_BIND", "127.0.0.1:4566")
    return 0 if is_alive(f"http://{bind}") else 1


if __name__ == "__main__":
    sys.exit(main())
