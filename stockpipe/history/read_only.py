"""Admit only read queries over the history to the local engine.

DuckDB runs on the user's machine, with the user's rights: unlike Athena it would happily
`COPY ... TO` a file, `read_text('/etc/passwd')`, `ATTACH` a database or `INSTALL` an
extension. A query reaches it only if it is a single SELECT (WITH, UNION, ... included)
whose tables are the history tables or its own CTEs and which calls no function that reads
files, settings or the environment. The engine also switches DuckDB's external access off
(local_engine.py), so a gap in this list is still closed there.
"""

from __future__ import annotations

from sqlglot import exp

from stockpipe.history.result import QueryError

# DuckDB functions that reach outside the registered history tables
DENIED_PREFIXES = ("read_", "parquet_", "duckdb_", "pragma_", "sqlite_", "postgres_", "mysql_")
DENIED_FUNCTIONS = frozenset(
    {
        "glob",
        "sniff_csv",
        "parquet_scan",
        "iceberg_scan",
        "delta_scan",
        "arrow_scan",
        "query",
        "query_table",
        "getenv",
        "current_setting",
        "load_aws_credentials",
        "which_secret",
        "getvariable",
        "setvariable",
    }
)


def function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def check_read_only(tree: exp.Expr | None, tables: tuple[str, ...]) -> None:
    """Raise QueryError unless `tree` is a query that reads only `tables` and its CTEs."""
    if not isinstance(tree, exp.Query):
        kind = type(tree).__name__.upper() if tree is not None else "an empty statement"
        raise QueryError(f"only queries (SELECT / WITH) run on the history, not {kind}")
    for node in tree.walk():
        if isinstance(node, exp.Func):
            name = function_name(node)
            if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES):
                raise QueryError(f"function {name}() is not allowed: it reads outside the history")
        elif isinstance(node, exp.DML | exp.DDL | exp.Command | exp.Set | exp.Pragma):
            raise QueryError(f"{type(node).__name__.upper()} is not allowed in a query")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            found = table.sql(dialect="trino")
            raise QueryError(f"{found} is not a table: the history has {', '.join(tables)}")
        if table.name.lower() not in (*tables, *ctes):
            raise QueryError(f"unknown table {table.name!r}: the history has {', '.join(tables)}")
