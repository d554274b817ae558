"""Planning: dialect translation and which partitions a query needs."""

from __future__ import annotations

import duckdb
import pytest

from stockpipe.history.named import QUERIES
from stockpipe.history.plan import DateBounds, plan
from stockpipe.history.result import QueryError

DAYS = ["2025-11-20", "2025-11-21", "2025-11-22", "2025-11-23", "2025-11-24"]


def admitted(sql: str, table: str = "ticks") -> list[str]:
    query_plan = plan(sql, "stockpipe")
    return [d for d in DAYS if query_plan.admits(table, d)]


@pytest.mark.parametrize(
    ("where", "days"),
    [
        ("dt = '2025-11-21'", ["2025-11-21"]),
        ("dt IN ('2025-11-20', '2025-11-24')", ["2025-11-20", "2025-11-24"]),
        ("dt BETWEEN '2025-11-21' AND '2025-11-22'", ["2025-11-21", "2025-11-22"]),
        ("dt >= '2025-11-23'", ["2025-11-23", "2025-11-24"]),
        ("dt < '2025-11-21'", ["2025-11-20", "2025-11-21"]),  # reads more, never less
        ("'2025-11-23' <= dt", ["2025-11-23", "2025-11-24"]),
        (
            "symbol = 'A' AND (dt >= '2025-11-22' AND dt <= '2025-11-23')",
            ["2025-11-22", "2025-11-23"],
        ),
        ("dt = '2025-11-21' OR symbol = 'A'", DAYS),  # OR: no bound
        ("substr(dt, 1, 7) = '2025-11'", DAYS),  # a function of dt: no bound
        ("symbol = 'AAPL'", DAYS),
    ],
)
def test_partition_bounds_from_the_where_clause(where: str, days: list[str]) -> None:
    assert admitted(f"SELECT count(*) FROM ticks WHERE {where}") == days


def test_a_bound_on_one_table_of_a_join_does_not_prune_the_other() -> None:
    sql = "SELECT * FROM ticks t JOIN dead_letters d ON t.symbol = d.rule WHERE t.dt = '2025-11-21'"
    assert admitted(sql, "ticks") == ["2025-11-21"]
    assert admitted(sql, "dead_letters") == DAYS


def test_bounds_inside_a_cte_apply_to_the_table_read_there() -> None:
    sql = "WITH x AS (SELECT * FROM ticks WHERE dt = '2025-11-22') SELECT * FROM x"
    assert admitted(sql) == ["2025-11-22"]


def test_the_glue_database_qualifier_is_dropped_and_others_refused() -> None:
    assert "stockpipe" not in plan("SELECT * FROM stockpipe.ticks", "stockpipe").duckdb_sql
    with pytest.raises(QueryError, match="unknown database"):
        plan("SELECT * FROM other.ticks", "stockpipe")
    with pytest.raises(QueryError, match="cannot parse"):
        plan("SELEC * FORM ticks WHERE", "stockpipe")


def test_bounds_tighten() -> None:
    both = DateBounds(low="2025-11-21").tighten(DateBounds(high="2025-11-23"))
    assert [d for d in DAYS if both.admits(d)] == DAYS[1:4]


@pytest.mark.parametrize("name", list(QUERIES))
def test_every_named_query_translates_to_sql_duckdb_runs(name: str) -> None:
    sql = QUERIES[name].render(symbol="AAPL", start="2025-11-20", end="2025-11-24")
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE ticks (id VARCHAR, symbol VARCHAR, event_time TIMESTAMPTZ, "
        "event_time_ms BIGINT, price DOUBLE, volume BIGINT, arrival_ms BIGINT, "
        "sequence_number VARCHAR, dt VARCHAR)"
    )
    connection.execute(
        "CREATE TABLE dead_letters (rule VARCHAR, reason VARCHAR, arrival_ms BIGINT, dt VARCHAR)"
    )
    connection.execute(plan(sql, "stockpipe").duckdb_sql).fetchall()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"symbol": "AAPL; DROP", "start": "2025-11-20", "end": "2025-11-21"},
            "not a valid symbol",
        ),
        ({"symbol": "AAPL", "start": "2025-11-20' OR '1", "end": "2025-11-21"}, "YYYY-MM-DD"),
        ({"symbol": "AAPL", "start": "2025-13-40", "end": "2025-11-21"}, "month"),
    ],
)
def test_named_query_parameters_are_validated(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QUERIES["daily-ohlc"].render(**kwargs)
