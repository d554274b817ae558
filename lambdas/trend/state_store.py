"""Per-symbol trend state in DynamoDB, written with optimistic concurrency.

Item: symbol, version, schema, state (JSON), outbox (JSON list of alerts not yet published,
each with the lease of the invocation that may publish it). A write succeeds only if the
version is the one read, so of two invocations racing on a symbol exactly one records (or
claims) an outbox entry, and only that one publishes it while its lease runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import orjson
from botocore.exceptions import ClientError

from lambdas.trend.engine import SymbolState

log = logging.getLogger(__name__)

SCHEMA = 2  # state JSON of another schema is not read: the symbol starts over (warm-up)
SAVE_ATTEMPTS = 3  # loads of a symbol an update makes before it gives up on conflicts

R = TypeVar("R")


class VersionConflict(RuntimeError):
    """Someone else wrote the symbol's state since we read it."""


@dataclass
class OutboxEntry:
    alert: dict[str, Any]  # the alert body (common.alerts)
    lease_until_ms: int  # until then only the invocation that set it publishes the alert

    @property
    def id(self) -> str:
        return str(self.alert["id"])


@dataclass
class Stored:
    state: SymbolState
    outbox: list[OutboxEntry] = field(default_factory=list)
    version: int = 0


class StateStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def load(self, symbol: str) -> Stored:
        item = self._client.get_item(
            TableName=self._table, Key={"symbol": {"S": symbol}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return Stored(SymbolState(symbol))
        outbox = [OutboxEntry(**e) for e in orjson.loads(item["outbox"]["S"])]
        version = int(item["version"]["N"])
        if int(item.get("schema", {}).get("N", "1")) != SCHEMA:
            log.warning("trend state of %s has another schema; it starts over", symbol)
            return Stored(SymbolState(symbol), outbox, version)
        state = SymbolState.from_json_dict(orjson.loads(item["state"]["S"]))
        return Stored(state, outbox, version)

    def save(self, stored: Stored) -> None:
        """Write version+1 if the stored version is still the one read; bumps `stored`."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_item(stored),
                ConditionExpression="attribute_not_exists(symbol) OR version = :v",
                ExpressionAttributeValues={":v": {"N": str(stored.version)}},
            )
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise VersionConflict(stored.state.symbol) from e
            raise
        stored.version += 1

    def update(self, symbol: str, change: Callable[[Stored], R]) -> R:
        """Load the symbol's item, let `change` edit it, save it; if another writer saved
        in between, start over from a fresh load (VersionConflict after SAVE_ATTEMPTS).
        An item the change left as it was is not written. Returns what `change` returned
        on the load that counted."""
        for _ in range(SAVE_ATTEMPTS - 1):
            with contextlib.suppress(VersionConflict):
                return self._update_once(symbol, change)
        return self._update_once(symbol, change)

    def _update_once(self, symbol: str, change: Callable[[Stored], R]) -> R:
        stored = self.load(symbol)
        before = _item(stored)
        result = change(stored)
        if _item(stored) != before:
            self.save(stored)
        return result


def _item(stored: Stored) -> dict[str, Any]:
    """The DynamoDB item of `stored` as its next version."""
    return {
        "symbol": {"S": stored.state.symbol},
        "version": {"N": str(stored.version + 1)},
        "schema": {"N": str(SCHEMA)},
        "state": {"S": orjson.dumps(stored.state.to_json_dict()).decode()},
        "outbox": {"S": orjson.dumps([asdict(e) for e in stored.outbox]).decode()},
    }
