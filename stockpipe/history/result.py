"""What a history query returns and how it fails, shared by both engines.

Kept apart from the engines so that the Athena path and the CLI import neither DuckDB nor
sqlglot (the `local` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class QueryError(ValueError):
    """A query the local engine refuses or cannot plan (syntax, unknown table, not a query)."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    files_read: int
    bytes_read: int
    seconds: float
