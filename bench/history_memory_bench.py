"""Memory of one shard's processor with a full history buffer, at the Kinesis write ceiling.

    .venv/bin/python -m bench.history_memory_bench [--mb-per-s 1.0] [--cold-max-mb 32]

Feeds a TickProcessor (default settings) GetRecords-sized batches of synthetic tick JSON at
`--mb-per-s` of record data (1 MB/s = a shard's write limit), in simulated time, with a
sink that skips DynamoDB and encodes (but does not upload) the Parquet objects, so the
figure is the processor's own: peak RSS before, while the buffer fills and through its
flush; when the size cap flushed and how big the objects were.
"""

from __future__ import annotations

import argparse
import json
import resource
import threading
import time
from types import SimpleNamespace
from typing import Any

from bench.consumer_bench import synthetic_ticks
from bench.producer_bench import SYMBOLS
from common.tick import make_tick
from consumer import encode
from consumer.batch import Batch
from consumer.processor import TickProcessor
from producer.sources.synthetic import SyntheticSource


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class EncodingSink:
    def __init__(self) -> None:
        self.flushes: list[dict[str, float]] = []

    def write_hot(self, batch: Batch) -> Batch:
        return batch

    def write_cold(self, batch: Batch) -> None:
        full, started = rss_mb(), time.process_time()
        objects, _rejects = encode.parquet_objects(batch)
        encode_cpu_s = time.process_time() - started
        self.flushes.append(
            {
                "rows": batch.ticks.height,
                "objects": len(objects),
                "parquet_mb": sum(len(o.body) for o in objects) / 2**20,
                "encode_cpu_s": encode_cpu_s,
                "rss_full_buffer_mb": full,
                "rss_after_encoding_mb": rss_mb(),
            }
        )


class Checkpointer:
    def checkpoint(self, sequence_number: Any = None, sub_sequence_number: Any = None) -> None:
        pass


class Records:
    """What kclpy hands the processor: a ProcessRecordsInput's records and checkpointer."""

    def __init__(self, records: list[Any]) -> None:
        self.records = records
        self.checkpointer = Checkpointer()


class Record:
    def __init__(self, data: bytes, sequence: int, arrival_ms: int, key: str) -> None:
        self.binary_data = data
        self.sequence_number = str(sequence)
        self.sub_sequence_number = 0
        self.timestamp_millis = arrival_ms
        self.partition_key = key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb-per-s", type=float, default=1.0)
    parser.add_argument("--cold-max-mb", type=float, default=16.0)
    parser.add_argument("--seconds", type=float, default=40.0, help="simulated seconds fed")
    args = parser.parse_args()
    clock = {"now": 0.0}
    sink = EncodingSink()
    processor = TickProcessor(
        sink, cold_max_bytes=int(args.cold_max_mb * 2**20), monotonic=lambda: clock["now"]
    )
    processor.initialize(SimpleNamespace(shard_id="shardId-000000000000", sequence_number="0"))
    tick_bytes = sum(len(t.encode()) for t in synthetic_ticks(1000, 5, 1_764_000_000_000)) / 1000
    per_second = int(args.mb_per_s * 1_000_000 / tick_bytes)
    source = SyntheticSource(SYMBOLS, seed=5, start_ms=1_764_000_000_000, step_ms=100)
    quotes = source.quotes(threading.Event())  # made lazily: RSS is a high-water mark
    start_rss, sequence, buffered_peak = rss_mb(), 0, 0
    poll_s = 0.25  # the default idle time between GetRecords
    per_poll = max(1, int(per_second * poll_s))
    while clock["now"] < args.seconds:
        batch = []
        for _ in range(per_poll):
            tick = make_tick(*next(quotes), source="synthetic")
            # arrival just after the event, as live: validation judges event times by arrival
            batch.append(Record(tick.encode(), sequence, tick.event_time_ms + 50, "AAPL"))
            sequence += 1
        processor.process_records(Records(batch))
        buffered_peak = max(buffered_peak, processor.history.size_bytes)
        clock["now"] += poll_s
    result = {
        "mb_per_s": args.mb_per_s,
        "tick_json_bytes": round(tick_bytes, 1),
        "ticks_per_s": per_second,
        "cold_max_mb": args.cold_max_mb,
        "buffer_peak_mb": round(buffered_peak / 2**20, 1),
        "buffer_bytes_per_row": round(buffered_peak / max(1, sink.flushes[0]["rows"]), 1),
        "rss_start_mb": round(start_rss, 1),
        "rss_peak_mb": round(rss_mb(), 1),
        "flushes": sink.flushes,
        "seconds_between_flushes": round(args.seconds / max(1, len(sink.flushes)), 1),
    }
    print(json.dumps(result, indent=2, default=lambda v: round(v, 2)))


if __name__ == "__main__":
    main()
