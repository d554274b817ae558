"""Choose the engine, render named queries, explain plans and print results."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import orjson
from rich.console import Console
from rich.table import Table

from common import aws, layout
from common.settings import Settings
from stockpipe.history.athena import AthenaConfig, AthenaRunner
from stockpipe.history.local_engine import LocalHistory, QueryResult, s3_filesystem
from stockpipe.history.named import QUERIES
from stockpipe.history.plan import plan

DEFAULT_DAYS = 7


def render_query(
    sql_or_name: str, *, symbol: str | None, start: str | None, end: str | None
) -> str:
    """A named query with its parameters (default: the last 7 days), or the SQL as given."""
    named = QUERIES.get(sql_or_name)
    if named is None:
        if " " not in sql_or_name.strip():
            raise ValueError(f"no named query {sql_or_name!r} (stockpipe query --list)")
        return sql_or_name
    today = datetime.now(UTC).date()
    return named.render(
        symbol=symbol.upper() if symbol else None,
        start=start or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        end=end or today.isoformat(),
    )


class HistoryQueries:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _region(self) -> str:
        return str(aws.client("s3", region=self._settings.region).meta.region_name)

    def _local(self) -> LocalHistory:
        return LocalHistory(
            aws.client("s3", region=self._settings.region),
            self._settings.bucket,
            s3_filesystem(self._region()),
        )

    def _athena(self) -> AthenaRunner:
        settings = self._settings
        return AthenaRunner(
            aws.client("athena", region=settings.region),
            AthenaConfig(
                database=settings.glue_database,
                workgroup=settings.athena_workgroup,
                output_location=layout.athena_output(settings.bucket, settings.athena_output),
            ),
        )

    def run(self, sql: str, *, local: bool) -> QueryResult:
        if local:
            return self._local().run(plan(sql, self._settings.glue_database))
        return self._athena().run(sql)

    def explain(self, sql: str, *, local: bool) -> str:
        if not local:
            settings = self._settings
            return f"Athena ({settings.athena_workgroup}, {settings.glue_database}):\n{sql}"
        query_plan = plan(sql, self._settings.glue_database)
        lines = ["DuckDB SQL:", query_plan.duckdb_sql, ""]
        history = self._local()
        for table in query_plan.tables:
            files = history.files(query_plan, table)
            days = history.partitions(table)
            read_days = sorted({day for day, _, _ in files})
            lines.append(
                f"{table}: {len(files)} file(s), {sum(s for _, _, s in files):,} bytes"
                f" from {len(read_days)} of {len(days)} partition(s)"
            )
            lines += [f"  s3://{self._settings.bucket}/{key}" for _, key, _ in files]
        return "\n".join(lines)


def print_result(result: QueryResult, output: str, console: Console) -> None:
    if output == "json":
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        print(orjson.dumps(rows, default=str, option=orjson.OPT_NON_STR_KEYS).decode())
    elif output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
        print(buffer.getvalue(), end="")
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)
