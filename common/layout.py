"""The storage layout of the history bucket: prefixes and object keys, stated once.

The consumer writes with these keys, the CLI and the local query engine read with them,
provisioning and the CDK app build lifecycle rules, the Athena result location and IAM
resources from them. Keys derive from the stream position (shard, first sequence number), so
a replay writes the same key and overwrites (docs/consumer.md).
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


def tick_object_key(dt: str, shard_id: str, first_sequence: str) -> str:
    """`ticks/dt=D/<shard>-<first sequence>.parquet`."""
    return f"{partition_prefix(TICKS_PREFIX, dt)}{shard_id}-{first_sequence}.parquet"


def dead_letter_object_key(dt: str, shard_id: str, first_sequence: str) -> str:
    """`dead-letter/dt=D/<shard>-<first sequence>.jsonl`."""
    return f"{partition_prefix(DEAD_LETTER_PREFIX, dt)}{shard_id}-{first_sequence}.jsonl"


def athena_output(bucket: str, override: str | None = None) -> str:
    """Where Athena writes query results: the override, else `s3://<bucket>/athena-results/`."""
    return override or f"s3://{bucket}/{ATHENA_RESULTS_PREFIX}"


def object_pattern(prefix: str) -> str:
    """`ticks/*`: the IAM resource / lifecycle pattern for every object under a prefix."""
    return f"{prefix}*"
