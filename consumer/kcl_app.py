"""The Python child the MultiLangDaemon starts per shard: `python -m consumer.kcl_app`.

The daemon talks to it over stdin/stdout, so stdout is reserved for kclpy: anything else
that prints goes to stderr, with the logs.
"""

from __future__ import annotations

import sys

from amazon_kclpy import kcl

from common.logs import setup_logging
from common.settings import ConsumerSettings
from consumer.app import make_processor, settle_heap


def main() -> None:
    protocol_out = sys.stdout
    sys.stdout = sys.stderr  # a stray print must never corrupt the daemon protocol
    settings = ConsumerSettings()
    setup_logging(settings.log_level, settings.log_format)
    processor = make_processor(settings)
    settle_heap()
    kcl.KCLProcess(
        processor, input_file=sys.stdin, output_file=protocol_out, error_file=sys.stderr
    ).run()


if __name__ == "__main__":
    main()
