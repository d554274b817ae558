"""Container entry point: `python -m consumer` runs one KCL MultiLangDaemon worker."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common.logs import setup_logging
from common.settings import ConsumerSettings
from consumer.daemon import DaemonError, run_daemon


def main() -> int:
    settings = ConsumerSettings()
    setup_logging(settings.log_level, settings.log_format)
    try:
        with tempfile.TemporaryDirectory(prefix="kcl-") as workdir:
            return run_daemon(settings, Path(workdir))
    except DaemonError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
