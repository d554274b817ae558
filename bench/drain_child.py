"""The consumer as `stockpipe consume` runs it, stopping once N records are in: the measured
process of bench/drain_bench.py (imports only what the consumer needs)."""

from __future__ import annotations

import sys
import threading
import time

from common.settings import ConsumerSettings
from consumer.app import processor_factory, settle_heap
from consumer.local_driver import driver_for


def main(n: int) -> None:
    settings = ConsumerSettings()
    driver = driver_for(settings, processor_factory(settings))
    settle_heap()  # as `stockpipe consume` does
    stop = threading.Event()

    def stop_when_drained() -> None:
        while driver.records_delivered < n:
            time.sleep(0.02)
        stop.set()

    threading.Thread(target=stop_when_drained, daemon=True).start()
    driver.run(stop)  # in the main thread, where a profiler looks


if __name__ == "__main__":
    main(int(sys.argv[1]))
