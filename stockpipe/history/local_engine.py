"""Run planned queries on DuckDB over the Parquet history in S3 (the emulator's or AWS's).

Files are read through pyarrow's S3FileSystem: DuckDB's own httpfs extension is downloaded
from the internet at first use, which fails where only package registries are reachable.
Only the partitions the plan admits are listed and read.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

import duckdb
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from pyarrow import fs

from common.history_tables import (
    DEAD_LETTER_COLUMNS,
    DEAD_LETTERS_TABLE,
    PREFIXES,
    TICK_COLUMNS,
)
from common.layout import PARTITION_COLUMN, partition_prefix
from stockpipe.history.plan import QueryPlan
from stockpipe.history.result import QueryError, QueryResult

_ARROW = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
}
SCHEMAS = {
    name: pa.schema([(c, _ARROW[t]) for c, t in columns])
    for name, columns in (("ticks", TICK_COLUMNS), (DEAD_LETTERS_TABLE, DEAD_LETTER_COLUMNS))
}


READERS = 16  # objects read at once: S3 serves many GETs in parallel

NO_EXTENSIONS: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def seal(connection: duckdb.DuckDBPyConnection) -> None:
    """Once the history is registered: no file, network or extension access, settings frozen.

    Defence in depth behind read_only.py: `COPY`, `read_text`, `ATTACH`, `INSTALL` fail here
    even if a query got past the parser check.
    """
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


def s3_filesystem(region: str) -> fs.S3FileSystem:
    """pyarrow's S3 client, pointed at AWS_ENDPOINT_URL when one is set."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return fs.S3FileSystem(region=region)
    url = urlparse(endpoint)
    return fs.S3FileSystem(
        endpoint_override=url.netloc,
        scheme=url.scheme or "http",
        region=region,
        allow_bucket_creation=False,
    )


class LocalHistory:
    def __init__(self, s3: Any, bucket: str, filesystem: fs.FileSystem) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._fs = filesystem

    def partitions(self, table: str) -> list[str]:
        prefix = f"{PREFIXES[table]}{PARTITION_COLUMN}="
        days = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix, Delimiter="/"):
            days += [p["Prefix"][len(prefix) : -1] for p in page.get("CommonPrefixes", [])]
        return sorted(days)

    def files(self, plan: QueryPlan, table: str) -> list[tuple[str, str, int]]:
        """(partition date, key, size) of every object the plan needs."""
        found = []
        for day in self.partitions(table):
            if not plan.admits(table, day):
                continue
            prefix = partition_prefix(PREFIXES[table], day)
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                found += [(day, o["Key"], o["Size"]) for o in page.get("Contents", [])]
        return found

    def load(self, table: str, files: list[tuple[str, str, int]]) -> pa.Table:
        """Every file, read `READERS` at a time (each costs a GET and a footer read: with
        hundreds of small objects that round trip, not the bytes, is the time), in order."""
        with ThreadPoolExecutor(READERS) as pool:
            read = list(pool.map(lambda file: self._read(table, file[1]), files))
        tables = [
            data.append_column(PARTITION_COLUMN, pa.array([day] * data.num_rows, pa.string()))
            for (day, _key, _size), data in zip(files, read, strict=True)
        ]
        if not tables:
            return (
                SCHEMAS[table]
                .empty_table()
                .append_column(PARTITION_COLUMN, pa.array([], pa.string()))
            )
        return pa.concat_tables(tables)

    def _read(self, table: str, key: str) -> pa.Table:
        path = f"{self._bucket}/{key}"
        if table == DEAD_LETTERS_TABLE:
            with self._fs.open_input_stream(path) as stream:
                options = pa_json.ParseOptions(explicit_schema=SCHEMAS[table])
                return pa_json.read_json(stream, parse_options=options)
        return pq.read_table(path, filesystem=self._fs, schema=SCHEMAS[table])

    def run(self, plan: QueryPlan) -> QueryResult:
        started = time.perf_counter()
        connection = duckdb.connect(config=NO_EXTENSIONS)
        files_read = bytes_read = 0
        for table in plan.tables:
            files = self.files(plan, table)
            files_read += len(files)
            bytes_read += sum(size for _, _, size in files)
            connection.register(table, self.load(table, files))
        seal(connection)
        try:
            cursor = connection.execute(plan.duckdb_sql)
            rows = cursor.fetchall()
        except duckdb.Error as e:
            raise QueryError(f"DuckDB refused the query: {e}") from e
        columns = [d[0] for d in cursor.description or []]
        return QueryResult(columns, rows, files_read, bytes_read, time.perf_counter() - started)
