"""Athena paths the emulator cannot show: failures, time-outs, several result pages."""

from __future__ import annotations

from typing import Any

import pytest

from stockpipe.history.athena import AthenaConfig, AthenaQueryFailed, AthenaRunner

CONFIG = AthenaConfig(
    database="stockpipe",
    workgroup="stockpipe",
    output_location="s3://b/athena-results/",
    timeout_s=1000,
)


class ScriptedAthena:
    def __init__(
        self, states: list[str], pages: list[list[list[str]]] | None = None, reason: str = ""
    ) -> None:
        self.states, self.pages, self.reason = list(states), pages or [[["1"]]], reason
        self.stopped = False
        self.started: dict[str, Any] = {}

    def start_query_execution(self, **kwargs: Any) -> dict[str, str]:
        self.started = kwargs
        return {"QueryExecutionId": "q1"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:  # noqa: N803
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {
            "QueryExecution": {
                "Status": {"State": state, "StateChangeReason": self.reason},
                "Statistics": {"DataScannedInBytes": 12345},
            }
        }

    def stop_query_execution(self, QueryExecutionId: str) -> None:  # noqa: N803
        self.stopped = True

    def get_query_results(self, **kwargs: Any) -> dict[str, Any]:
        index = int(kwargs.get("NextToken", "0"))
        page: dict[str, Any] = {
            "ResultSet": {
                "ResultSetMetadata": {"ColumnInfo": [{"Name": "n"}]},
                "Rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in self.pages[index]],
            }
        }
        if index + 1 < len(self.pages):
            page["NextToken"] = str(index + 1)
        return page


def test_waits_with_doubling_back_off_and_pages_every_result() -> None:
    sleeps: list[float] = []
    client = ScriptedAthena(
        ["QUEUED", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"],
        pages=[[["n"], ["1"], ["2"]], [["3"]], [["4"]]],
    )
    runner = AthenaRunner(client, CONFIG, sleep=sleeps.append)
    result = runner.run("SELECT n FROM ticks")
    assert sleeps == [0.2, 0.4, 0.8, 1.6]
    assert result.columns == ["n"] and result.rows == [("1",), ("2",), ("3",), ("4",)]
    assert result.bytes_read == 12345
    assert client.started["WorkGroup"] == "stockpipe"
    assert client.started["QueryExecutionContext"] == {"Database": "stockpipe"}


def test_a_failed_query_raises_with_athenas_reason() -> None:
    client = ScriptedAthena(["RUNNING", "FAILED"], reason="COLUMN_NOT_FOUND: price2")
    with pytest.raises(AthenaQueryFailed, match="FAILED: COLUMN_NOT_FOUND: price2"):
        AthenaRunner(client, CONFIG, sleep=lambda s: None).run("SELECT price2 FROM ticks")


def test_a_query_past_the_timeout_is_cancelled() -> None:
    client = ScriptedAthena(["RUNNING"])
    config = AthenaConfig("stockpipe", "stockpipe", "s3://b/", timeout_s=0)
    with pytest.raises(AthenaQueryFailed, match="cancelled"):
        AthenaRunner(client, config, sleep=lambda s: None).run("SELECT 1")
    assert client.stopped
