"""Container entry point: `python -m producer`, configured by STOCKPIPE_* variables."""

from __future__ import annotations

import logging
import sys
import threading

from common.logs import setup_logging
from common.settings import ProducerSettings
from producer.options import build_source
from producer.publisher import publisher_for
from producer.run import produce, stop_on_signals

log = logging.getLogger("producer")


def main() -> int:
    settings = ProducerSettings()
    setup_logging(settings.log_level, settings.log_format)
    stop = threading.Event()
    stop_on_signals(stop)
    source = build_source(settings)
    publisher = publisher_for(settings)
    log.info(
        "producing %s quotes for %s to %s",
        source.name,
        ",".join(settings.symbols),
        settings.stream_name,
    )
    stats = produce(source, publisher, stop=stop, limit=settings.limit)
    log.info(
        "done: produced=%d sent=%d rejected=%d retried=%d failed=%d in %.1fs",
        stats.produced,
        stats.sent,
        stats.rejected,
        stats.retried,
        stats.failed,
        stats.seconds,
    )
    return 1 if stats.failed else 0


if __name__ == "__main__":
    sys.exit(main())
