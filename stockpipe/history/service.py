"""Choose the engine, render named queries and explain plans (printing is the CLI's).

The local engine (DuckDB, sqlglot: the `local` extra) is imported only when a query runs
locally, so Athena queries work with the base install.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from common import aws, layout
from common.settings import Settings
from stockpipe.history.athena import AthenaConfig, AthenaRunner
from stockpipe.history.named import QUERIES
from stockpipe.history.result import QueryError, QueryResult

if TYPE_CHECKING:
    from stockpipe.history.local_engine import LocalHistory
    from stockpipe.history.plan import QueryPlan

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

    def _local(self) -> tuple[LocalHistory, Callable[[str, str], QueryPlan]]:
        """The DuckDB engine and its planner, imported here: only local queries need them."""
        try:
            from stockpipe.history.local_engine import LocalHistory, s3_filesystem
            from stockpipe.history.plan import plan
        except ImportError as e:
            raise QueryError(
                f"the local query engine needs the `local` extra ({e.name} is missing): "
                "pip install 'stockpipe[local]', or query Athena with --engine athena"
            ) from e
        history = LocalHistory(
            aws.client("s3", region=self._settings.region),
            self._settings.bucket,
            s3_filesystem(self._region()),
        )
        return history, plan

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
        if not local:
            return self._athena().run(sql)
        history, plan = self._local()
        return history.run(plan(sql, self._settings.glue_database))

    def explain(self, sql: str, *, local: bool) -> str:
        if not local:
            settings = self._settings
            return f"Athena ({settings.athena_workgroup}, {settings.glue_database}):\n{sql}"
        history, plan = self._local()
        query_plan = plan(sql, self._settings.glue_database)
        lines = ["DuckDB SQL:", query_plan.duckdb_sql, ""]
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
