"""The history tables: one definition for the Parquet the consumer writes, the Glue catalog
(embedded stack via boto3, and the infrastructure code), Athena and the local DuckDB engine.

Partition projection on `dt` means no crawler and no partition registration: Athena derives
the partitions from the table properties, so new data is queryable at once.
"""

from __future__ import annotations

from typing import Any

from common.layout import DEAD_LETTER_PREFIX, PARTITION_COLUMN, TICKS_PREFIX

TICKS_TABLE = "ticks"
DEAD_LETTERS_TABLE = "dead_letters"

# (column, Glue/Athena type) in the order the consumer writes them to Parquet
TICK_COLUMNS: list[tuple[str, str]] = [
    ("id", "string"),
    ("symbol", "string"),
    ("event_time", "timestamp"),
    ("event_time_ms", "bigint"),
    ("price", "double"),
    ("volume", "bigint"),
    ("source", "string"),
    ("change", "double"),
    ("change_pct", "double"),
    ("ingest_lag_ms", "bigint"),
    ("arrival_ms", "bigint"),
    ("sequence_number", "string"),
]

DEAD_LETTER_COLUMNS: list[tuple[str, str]] = [
    ("rule", "string"),
    ("reason", "string"),
    ("shard_id", "string"),
    ("sequence_number", "string"),
    ("arrival_ms", "bigint"),
    ("data_base64", "string"),
    ("data_text", "string"),
]

PREFIXES = {TICKS_TABLE: TICKS_PREFIX, DEAD_LETTERS_TABLE: DEAD_LETTER_PREFIX}


def _projection(bucket: str, table: str) -> dict[str, str]:
    return {
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2000-01-01,NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "storage.location.template": f"s3://{bucket}/{PREFIXES[table]}{PARTITION_COLUMN}=${{dt}}/",
    }


def table_inputs(bucket: str) -> list[dict[str, Any]]:
    """Glue `TableInput`s for CreateTable/UpdateTable."""
    parquet: dict[str, Any] = {
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "SerdeInfo": {
            "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        },
    }
    json_lines: dict[str, Any] = {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
    }
    tables: list[dict[str, Any]] = []
    specs: list[tuple[str, list[tuple[str, str]], dict[str, Any], str]] = [
        (TICKS_TABLE, TICK_COLUMNS, parquet, "parquet"),
        (DEAD_LETTERS_TABLE, DEAD_LETTER_COLUMNS, json_lines, "json"),
    ]
    for name, columns, storage, classification in specs:
        tables.append(
            {
                "Name": name,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {
                    "classification": classification,
                    "EXTERNAL": "TRUE",
                    **_projection(bucket, name),
                },
                "PartitionKeys": [{"Name": PARTITION_COLUMN, "Type": "string"}],
                "StorageDescriptor": {
                    "Columns": [{"Name": c, "Type": t} for c, t in columns],
                    "Location": f"s3://{bucket}/{PREFIXES[name]}",
                    **storage,
                },
            }
        )
    return tables
