"""Run SQL on Amazon Athena: start, wait with back-off, page every result, report cost."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from common.retry import Retry, RetryPolicy
from stockpipe.history.result import QueryResult

RUNNING = ("QUEUED", "RUNNING")


class AthenaQueryFailed(RuntimeError):
    """Athena reported FAILED or CANCELLED, or the query ran past the timeout."""


@dataclass(frozen=True)
class AthenaConfig:
    database: str
    workgroup: str
    output_location: str
    timeout_s: float = 600.0
    first_poll_s: float = 0.2
    max_poll_s: float = 5.0


class AthenaRunner:
    def __init__(
        self, client: Any, config: AthenaConfig, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._client = client
        self._config = config
        # polls until done or timed out: first_poll_s doubling to max_poll_s, no jitter
        self._polling = Retry(
            RetryPolicy(None, config.first_poll_s, config.max_poll_s, jitter=False), sleep=sleep
        )
        self.polls = 0
        self.scanned_bytes = 0

    def run(self, sql: str) -> QueryResult:
        started = time.monotonic()
        try:
            query_id = self._client.start_query_execution(
                QueryString=sql,
                QueryExecutionContext={"Database": self._config.database},
                WorkGroup=self._config.workgroup,
                ResultConfiguration={"OutputLocation": self._config.output_location},
            )["QueryExecutionId"]
        except ClientError as e:
            raise AthenaQueryFailed(f"Athena refused the query: {e}") from e
        execution = self._wait(query_id, started)
        statistics = execution.get("Statistics", {})
        self.scanned_bytes = int(statistics.get("DataScannedInBytes", 0))
        columns, rows = self._results(query_id)
        return QueryResult(
            columns,
            rows,
            files_read=0,
            bytes_read=self.scanned_bytes,
            seconds=time.monotonic() - started,
        )

    def _wait(self, query_id: str, started: float) -> dict[str, Any]:
        for _poll in self._polling.attempts():
            execution = self._client.get_query_execution(QueryExecutionId=query_id)[
                "QueryExecution"
            ]
            self.polls += 1
            state = execution["Status"]["State"]
            if state == "SUCCEEDED":
                return dict(execution)
            if state not in RUNNING:
                reason = execution["Status"].get("StateChangeReason", "no reason given")
                raise AthenaQueryFailed(f"query {query_id} {state}: {reason}")
            if time.monotonic() - started > self._config.timeout_s:
                self._client.stop_query_execution(QueryExecutionId=query_id)
                raise AthenaQueryFailed(
                    f"query {query_id} still {state} after "
                    f"{self._config.timeout_s:.0f} s; cancelled"
                )
        raise AssertionError("polling without a limit ended")  # attempts() is endless here

    def _results(self, query_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        columns: list[str] = []
        rows: list[tuple[Any, ...]] = []
        kwargs: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": 1000}
        first_page = True
        while True:
            page = self._client.get_query_results(**kwargs)
            if first_page:
                columns = [c["Name"] for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
            data = [
                tuple(cell.get("VarCharValue") for cell in row["Data"])
                for row in page["ResultSet"]["Rows"]
            ]
            if first_page and data and list(data[0]) == columns:
                data = data[1:]  # Athena repeats the header as the first row of a SELECT
            rows += data
            first_page = False
            token = page.get("NextToken")
            if not token:
                return columns, rows
            kwargs["NextToken"] = token
