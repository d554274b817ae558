"""Plan a Trino-dialect query for the local engine: DuckDB SQL plus the partitions to read.

Partition pruning reads only the `dt` partitions a query can need. Bounds come from the
WHERE clause of each SELECT that reads a history table: `dt = 'd'`, `dt IN (...)`,
`dt >= / > / <= / < 'd'`, `dt BETWEEN 'a' AND 'b'`, joined by AND. Anything else (OR, a
function of dt, a non-literal) gives no bound, so the planner reads more, never less.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from common.history_tables import DEAD_LETTERS_TABLE, TICKS_TABLE
from common.layout import PARTITION_COLUMN
from stockpipe.history.read_only import check_read_only
from stockpipe.history.result import QueryError

HISTORY_TABLES = (TICKS_TABLE, DEAD_LETTERS_TABLE)


@dataclass
class DateBounds:
    """Inclusive bounds on the partition date; None means unbounded."""

    low: str | None = None
    high: str | None = None
    values: set[str] | None = None

    def admits(self, day: str) -> bool:
        if self.values is not None and day not in self.values:
            return False
        if self.low is not None and day < self.low:
            return False
        return not (self.high is not None and day > self.high)

    def tighten(self, other: DateBounds) -> DateBounds:
        low = max(filter(None, (self.low, other.low)), default=None)
        high = min(filter(None, (self.high, other.high)), default=None)
        if self.values is not None and other.values is not None:
            values: set[str] | None = self.values & other.values
        else:
            values = self.values if self.values is not None else other.values
        return DateBounds(low, high, values)


@dataclass
class QueryPlan:
    duckdb_sql: str
    tables: dict[str, list[DateBounds]] = field(default_factory=dict)

    def admits(self, table: str, day: str) -> bool:
        """A partition is read if any SELECT that reads the table may need it."""
        return any(bounds.admits(day) for bounds in self.tables.get(table, []))


def plan(sql: str, database: str) -> QueryPlan:
    """Refuses anything but one read query over the history (see read_only.py)."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="trino") if s is not None]
    except sqlglot.errors.ParseError as e:
        raise QueryError(f"cannot parse the query: {e}") from e
    if len(statements) != 1:
        raise QueryError(f"give one query, not {len(statements)} statements")
    [tree] = statements
    tables: dict[str, list[DateBounds]] = {}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if table.db and table.db.lower() != database.lower():
            raise QueryError(f"unknown database {table.db!r}: the history is in {database!r}")
        if name in HISTORY_TABLES:
            table.set("db", None)
            table.set("catalog", None)
            select = table.find_ancestor(exp.Select)
            names = {name, table.alias_or_name.lower()}
            bounds = _bounds(select, names) if select else DateBounds()
            tables.setdefault(name, []).append(bounds)
    check_read_only(tree, HISTORY_TABLES)
    return QueryPlan(tree.sql(dialect="duckdb"), tables)


def _bounds(select: exp.Select, names: set[str]) -> DateBounds:
    """Bounds on this table's dt from the SELECT's WHERE (`t.dt` counts only for alias t)."""
    where = select.args.get("where")
    bounds = DateBounds()
    if where is None:
        return bounds
    for condition in _conjuncts(where.this):
        bounds = bounds.tighten(_condition_bounds(condition, names))
    return bounds


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    return [node]


def _is_dt(node: exp.Expr, names: set[str]) -> bool:
    return (
        isinstance(node, exp.Column)
        and node.name.lower() == PARTITION_COLUMN
        and (not node.table or node.table.lower() in names)
    )


def _literal(node: exp.Expr) -> str | None:
    return str(node.this) if isinstance(node, exp.Literal) and node.is_string else None


def _condition_bounds(node: exp.Expr, names: set[str]) -> DateBounds:
    if isinstance(node, exp.Between) and _is_dt(node.this, names):
        return DateBounds(_literal(node.args["low"]), _literal(node.args["high"]))
    if isinstance(node, exp.In) and _is_dt(node.this, names):
        values = [_literal(v) for v in node.expressions]
        return DateBounds(values={v for v in values if v}) if all(values) else DateBounds()
    if isinstance(node, exp.EQ | exp.GT | exp.GTE | exp.LT | exp.LTE):
        left, right = node.left, node.right
        flipped = _is_dt(right, names) and not _is_dt(left, names)
        column, value = (right, _literal(left)) if flipped else (left, _literal(right))
        if not _is_dt(column, names) or value is None:
            return DateBounds()
        if isinstance(node, exp.EQ):
            return DateBounds(values={value})
        lower = isinstance(node, exp.GT | exp.GTE) != flipped
        return DateBounds(low=value) if lower else DateBounds(high=value)
    return DateBounds()
