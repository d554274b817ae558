"""`query`: SQL over the tick history, on Athena (AWS) or DuckDB (the local stack)."""

from __future__ import annotations

from typing import Annotated

import typer

from stockpipe.cli import render
from stockpipe.cli.shared import UserError, Verbose, err, load_settings, out, target
from stockpipe.history.named import QUERIES
from stockpipe.history.service import HistoryQueries, render_query

FORMATS = ("table", "csv", "json")
ENGINES = ("auto", "local", "athena")


def query(
    sql_or_name: Annotated[
        str | None, typer.Argument(help="Trino SQL, or a named query (see --list).")
    ] = None,
    list_queries: Annotated[bool, typer.Option("--list", help="List the named queries.")] = False,
    symbol: Annotated[str | None, typer.Option(help="Named queries: one symbol.")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Named queries: first day, YYYY-MM-DD.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Named queries: last day, YYYY-MM-DD.")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    explain: Annotated[
        bool, typer.Option(help="Print the translated SQL and the files it would read.")
    ] = False,
    engine: Annotated[
        str, typer.Option(help="auto (local stack if there is one, else Athena), local, athena")
    ] = "auto",
    verbose: Verbose = False,
) -> None:
    """Query the tick history with SQL: Athena on AWS, DuckDB on the local stack.

    Tables: ticks (partitioned by dt = event date) and dead_letters (dt = arrival date).
    Filter on dt to read fewer partitions. Locally only queries run (SELECT / WITH over
    these tables; no COPY, no file functions). Example:
    stockpipe query daily-ohlc --symbol AAPL --from 2025-11-20 --to 2025-11-24 --format json
    """
    if list_queries:
        for named in QUERIES.values():
            out.print(f"[bold]{named.name:<16}[/] {named.description}")
        return
    if not sql_or_name:
        raise UserError("give SQL or a named query (stockpipe query --list)")
    if output not in FORMATS or engine not in ENGINES:
        raise UserError("--format is table, csv or json; --engine auto, local or athena")
    settings = load_settings(verbose, quiet=output != "table")
    with target(settings) as found:
        sql = render_query(sql_or_name, symbol=symbol, start=start, end=end)
        use_local = engine == "local" or (engine == "auto" and found.is_local)
        runner = HistoryQueries(settings)
        if explain:
            err.print(runner.explain(sql, local=use_local))
            return
        result = runner.run(sql, local=use_local)
    render.query_result(result, output, out)
    err.print(
        f"{len(result.rows)} row(s) in {result.seconds:.2f} s, "
        f"{result.bytes_read:,} bytes read"
        + (f" from {result.files_read} file(s)" if use_local else " (Athena scanned)")
    )
