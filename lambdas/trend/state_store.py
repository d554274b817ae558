"""Per-symbol trend state in DynamoDB, written with optimistic concurrency.

Item: symbol, version, state (JSON), pending (JSON list of alert bodies not yet published).
A write succeeds only if the version is the one read, so two invocations that race on a
symbol cannot both record (and both send) the same crossover.
"""

from __future__ import annotations

from typing import Any

import orjson
from botocore.exceptions import ClientError

from lambdas.trend.engine import SymbolState


class VersionConflict(RuntimeError):
    """Someone else wrote the symbol's state since we read it."""


class StateStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def load(self, symbol: str) -> tuple[SymbolState, list[dict[str, Any]], int]:
        item = self._client.get_item(
            TableName=self._table, Key={"symbol": {"S": symbol}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return SymbolState(symbol), [], 0
        state = SymbolState.from_json_dict(orjson.loads(item["state"]["S"]))
        return state, orjson.loads(item["pending"]["S"]), int(item["version"]["N"])

    def save(self, state: SymbolState, pending: list[dict[str, Any]], version: int) -> int:
        """Write version+1 if the stored version is still `version`; returns the new one."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "symbol": {"S": state.symbol},
                    "version": {"N": str(version + 1)},
                    "state": {"S": orjson.dumps(state.to_json_dict()).decode()},
                    "pending": {"S": orjson.dumps(pending).decode()},
                },
                ConditionExpression="attribute_not_exists(symbol) OR version = :v",
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise VersionConflict(state.symbol) from e
            raise
        return version + 1
