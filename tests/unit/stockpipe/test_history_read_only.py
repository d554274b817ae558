"""The local engine runs read queries over the history only: DuckDB would otherwise read and
write the user's files (Athena would refuse all of these)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from stockpipe.history.local_engine import NO_EXTENSIONS, seal
from stockpipe.history.plan import plan
from stockpipe.history.result import QueryError


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("COPY (SELECT * FROM ticks) TO '/tmp/stolen.csv'", "only queries"),
        ("SELECT * FROM read_text('/etc/passwd')", r"read_text\(\) is not allowed"),
        ("SELECT content FROM ticks, read_text('/etc/passwd')", r"read_text\(\) is not allowed"),
        ("SELECT read_csv('/etc/passwd') FROM ticks", r"read_csv\(\) is not allowed"),
        ("SELECT * FROM read_parquet('/home/*/*.parquet')", r"read_parquet\(\) is not allowed"),
        ("SELECT * FROM parquet_scan('/x.parquet')", r"parquet_scan\(\) is not allowed"),
        ("SELECT getenv('HOME') FROM ticks", r"getenv\(\) is not allowed"),
        ("SELECT * FROM duckdb_settings()", r"duckdb_settings\(\) is not allowed"),
        ("SELECT * FROM '/etc/passwd'", "unknown table '/etc/passwd'"),
        ('SELECT * FROM "secrets.csv"', "unknown table 'secrets.csv'"),
        ("SELECT * FROM ticks UNION ALL SELECT * FROM other", "unknown table 'other'"),
        ("INSTALL httpfs", "only queries"),
        ("LOAD httpfs", "only queries"),
        ("PRAGMA version", "only queries"),
        ("SET enable_external_access = true", "only queries"),
        ("CREATE TABLE x AS SELECT * FROM ticks", "only queries"),
        ("INSERT INTO ticks SELECT * FROM ticks", "only queries"),
        ("SELECT 1; COPY (SELECT 1) TO '/tmp/x'", "one query, not 2 statements"),
        ("ATTACH '/tmp/x.db'", "cannot parse"),
    ],
)
def test_the_planner_refuses_what_is_not_a_read_of_the_history(sql: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        plan(sql, "stockpipe")


@pytest.mark.parametrize(
    "sql",
    [
        "WITH recent AS (SELECT * FROM ticks WHERE dt >= '2025-11-20') "
        "SELECT symbol, count(*) FROM recent GROUP BY symbol",
        "SELECT symbol FROM ticks UNION SELECT rule FROM dead_letters",
        "SELECT t.symbol FROM (SELECT symbol FROM stockpipe.ticks) t",
        "SELECT x FROM ticks CROSS JOIN UNNEST(ARRAY[1, 2]) AS u(x)",
    ],
)
def test_queries_over_the_history_and_their_ctes_pass(sql: str) -> None:
    assert plan(sql, "stockpipe").duckdb_sql


def test_a_sealed_connection_reads_its_tables_and_no_file(tmp_path: Path) -> None:
    # GIVEN a DuckDB connection with the history registered, then sealed
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    connection = duckdb.connect(config=NO_EXTENSIONS)
    connection.register("ticks", pa.table({"price": [1.5, 2.5]}))
    seal(connection)
    assert connection.execute("SELECT sum(price) FROM ticks").fetchall() == [(4.0,)]
    # WHEN a query the parser check would have refused gets through anyway
    # THEN DuckDB itself refuses files, extensions and unsealing
    for sql in (
        f"SELECT * FROM read_text('{secret}')",
        f"COPY (SELECT * FROM ticks) TO '{tmp_path / 'out.csv'}'",
        f"ATTACH '{tmp_path / 'x.db'}'",
        "LOAD httpfs",
        "SET enable_external_access = true",
    ):
        with pytest.raises(duckdb.Error):
            connection.execute(sql)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "x.db").exists()
