"""The storage layout: keys every reader and writer agrees on."""

from __future__ import annotations

from common import history_tables, layout


def test_object_keys_are_hive_partitions_named_by_shard_and_first_record() -> None:
    assert (
        layout.tick_object_key("2024-11-25", "shardId-000000000001", 1_732_545_000_123, "4960")
        == "ticks/dt=2024-11-25/shardId-000000000001-1732545000123-4960.parquet"
    )
    assert (
        layout.dead_letter_object_key(
            "2024-11-25", "shardId-000000000001", 1_732_545_000_123, "4960"
        )
        == "dead-letter/dt=2024-11-25/shardId-000000000001-1732545000123-4960.jsonl"
    )


def test_the_glue_tables_point_at_the_prefixes_the_consumer_writes() -> None:
    locations = {
        t["Name"]: t["StorageDescriptor"]["Location"] for t in history_tables.table_inputs("b")
    }
    assert locations == {"ticks": "s3://b/ticks/", "dead_letters": "s3://b/dead-letter/"}
    key = layout.tick_object_key("2024-11-25", "s", 0, "1")
    assert key.startswith(layout.partition_prefix(layout.TICKS_PREFIX, "2024-11-25"))


def test_athena_results_default_under_the_bucket_unless_overridden() -> None:
    assert layout.athena_output("b") == "s3://b/athena-results/"
    assert layout.athena_output("b", "s3://other/x/") == "s3://other/x/"
    assert layout.object_pattern(layout.TICKS_PREFIX) == "ticks/*"
