"""The storage layout of the history bucket: prefixes and object keys, stated once.

The consumer writes with these keys, the CLI and the local query engine read with them,
provisioning and the CDK app build lifecycle rules, the Athena result location and IAM
resources from them. Keys derive from the stream position (shard, first record's arrival time,
first sequence number), so a replay writes the same key and overwrites (docs/consumer.md).
The arrival time (stamped by Kinesis, the same on every read) keeps keys apart across streams
that reuse shard ids and sequence numbers: the emulator restarts both at each `stockpipe up`.
"""

from __future__ import annotations

TICKS_PREFIX = "ticks/"
DEAD_LETTER_PREFIX = "dead-letter/"
ATHENA_RESULTS_PREFIX = "athena-results/"
PARTITION_COLUMN = "dt"  # yyyy-MM-dd: event-time date for ticks, arrival date for dead letters
HISTORY_PREFIXES = (TICKS_PREFIX, DEAD_LETTER_PREFIX)


def partition_prefix(prefix: str, dt: str) -> str:
    """`ticks/dt=2026-11-25/`: the Hive partition folder of one date."""
    return f"{prefix}{PARTITION_COLUMN}={dt}/"


def object_stem(shard_id: str, first_arrival_ms: int, first_sequence: str) -> str:
    """`<shard>-<arrival ms, 13 digits>-<sequence>` of an object's first record: unique per
    record across stream incarnations, sorted by time within a partition."""
    return f"{shard_id}-{first_arrival_ms:013d}-{first_sequence}"


def tick_object_key(dt: str, shard_id: str, first_arrival_ms: int, first_sequence: str) -> str:
    """`ticks/dt=D/<shard>-<first arrival ms>-<first sequence>.parquet`."""
    stem = object_stem(shard_id, first_arrival_ms, first_sequence)
    return f"{partition_prefix(TICKS_PREFIX, dt)}{stem}.parquet"


def dead_letter_object_key(
    dt: str, shard_id: str, first_arrival_ms: int, first_sequence: str
) -> str:
    """`dead-letter/dt=D/<shard>-<first arrival ms>-<first sequence>.jsonl`."""
    stem = object_stem(shard_id, first_arrival_ms, first_sequence)
    return f"{partition_prefix(DEAD_LETTER_PREFIX, dt)}{stem}.jsonl"


def athena_output(bucket: str, override: str | None = None) -> str:
    """Where Athena writes query results: the override, else `s3://<bucket>/athena-results/`."""
    return override or f"s3://{bucket}/{ATHENA_RESULTS_PREFIX}"


def object_pattern(prefix: str) -> str:
    """`ticks/*`: the IAM resource / lifecycle pattern for every object under a prefix."""
    return f"{prefix}*"
