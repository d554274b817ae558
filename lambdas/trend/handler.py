"""Lambda entry point: DynamoDB Streams batches of tick inserts -> trend state -> SNS alerts.

Per symbol: load state, skip stream records already applied (sequence number), fold the
new ticks in, save with a version condition together with the new alerts (an outbox), then
publish the outbox and clear it. A crossover is therefore recorded by exactly one writer,
and a re-delivered record is skipped. The one window left: SNS accepted an alert but clearing
the outbox failed; the retry publishes it again (docs/trend.md).

Only INSERT records of tick items are used: a consumer's replay rewrites an identical item
(MODIFY, or no record at all), the latest-quote item is not a tick, TTL deletes are REMOVE.
Failures are reported per record (ReportBatchItemFailures); nothing is swallowed.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common import aws, tables
from common.logs import setup_logging
from lambdas.trend import metrics
from lambdas.trend.alerts import alert_body, publish_args
from lambdas.trend.engine import TickIn, TrendConfig, apply
from lambdas.trend.state_store import StateStore, VersionConflict

log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 3
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(text: str) -> int:
    """'1m' -> 60000; units ms, s, m, h, d."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"duration {text!r} is not like 30s, 1m, 5m, 1h or 1d")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


@dataclass(frozen=True)
class HandlerSettings:
    """Read once per container from the environment."""

    state_table: str
    topic_arn: str
    trend: TrendConfig

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HandlerSettings:
        return cls(
            state_table=env.get("STOCKPIPE_TREND_STATE_TABLE", "stockpipe-trend-state"),
            topic_arn=env["STOCKPIPE_ALERTS_TOPIC_ARN"],
            trend=TrendConfig(
                bar_ms=parse_duration_ms(env.get("STOCKPIPE_TREND_BAR", "1m")),
                fast=int(env.get("STOCKPIPE_TREND_FAST", "5")),
                slow=int(env.get("STOCKPIPE_TREND_SLOW", "20")),
                allowed_lateness_ms=parse_duration_ms(
                    env.get("STOCKPIPE_TREND_ALLOWED_LATENESS", "1m")
                ),
                hysteresis=float(env.get("STOCKPIPE_TREND_HYSTERESIS", "0")),
                cooldown_bars=int(env.get("STOCKPIPE_TREND_COOLDOWN_BARS", "0")),
            ),
        )


class TrendProcessor:
    """The handler's work, with injected clients (tests, the local poller)."""

    def __init__(self, settings: HandlerSettings, dynamodb: Any, sns: Any) -> None:
        self.settings = settings
        self._store = StateStore(dynamodb, settings.state_table)
        self._sns = sns

    def process(self, event: Mapping[str, Any]) -> dict[str, Any]:
        records = event.get("Records", [])
        by_symbol: dict[str, list[tuple[int, TickIn, str]]] = {}
        for record in records:
            parsed = _tick_from_record(record)
            if parsed is not None:
                symbol, tick = parsed
                seq = record["dynamodb"]["SequenceNumber"]
                by_symbol.setdefault(symbol, []).append((int(seq), tick, seq))
        failures: list[dict[str, str]] = []
        counts = {"Ticks": 0, "LateTicks": 0, "Alerts": 0, "FailedRecords": 0}
        for symbol, items in by_symbol.items():
            try:
                self._process_symbol(symbol, items, counts)
            except Exception:
                log.exception("trend update for %s failed; reporting its records", symbol)
                failures += [{"itemIdentifier": seq} for _, _, seq in items]
                counts["FailedRecords"] += len(items)
        metrics.emit(counts, dimensions={"Function": "trend"})
        return {"batchItemFailures": failures}

    def _process_symbol(
        self, symbol: str, items: list[tuple[int, TickIn, str]], counts: dict[str, int]
    ) -> None:
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            state, pending, version = self._store.load(symbol)
            applied = int(state.last_stream_sequence)
            fresh = [(n, tick) for n, tick, _ in items if n > applied]
            if fresh:
                late_before = state.late_ticks
                signals = apply(state, [t for _, t in fresh], self.settings.trend)
                state.last_stream_sequence = str(max(n for n, _ in fresh))
                pending = pending + [alert_body(s) for s in signals]
                try:
                    version = self._store.save(state, pending, version)
                except VersionConflict:
                    if attempt == SAVE_ATTEMPTS:
                        raise
                    continue  # someone else moved the state on: read it again
                counts["Ticks"] += len(fresh)
                counts["LateTicks"] += state.late_ticks - late_before
            break
        if pending:
            for body in pending:
                self._sns.publish(**publish_args(self.settings.topic_arn, body))
                log.info("alert %s %s at %s", body["signal"], symbol, body["bar_time"])
            counts["Alerts"] += len(pending)
            self._store.save(state, [], version)


def _tick_from_record(record: Mapping[str, Any]) -> tuple[str, TickIn] | None:
    if record.get("eventName") != "INSERT":
        return None
    image = record.get("dynamodb", {}).get("NewImage")
    if not image or image.get(tables.SORT_KEY, {}).get("S") == tables.LATEST_SORT_KEY:
        return None
    try:
        return image[tables.PARTITION_KEY]["S"], TickIn(
            id=image["id"]["S"],
            event_time_ms=int(image["event_time_ms"]["N"]),
            price=float(image["price"]["N"]),
            volume=int(image["volume"]["N"]),
        )
    except (KeyError, ValueError):
        log.warning("stream record %s is not a tick item; skipped", record.get("eventID"))
        return None


_processor: TrendProcessor | None = None


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """AWS Lambda entry point; clients and settings are made once per container."""
    global _processor  # noqa: PLW0603 - one processor per Lambda container, made lazily
    if _processor is None:
        setup_logging(os.environ.get("STOCKPIPE_LOG_LEVEL", "INFO"), "json")
        _processor = TrendProcessor(
            HandlerSettings.from_env(os.environ), aws.client("dynamodb"), aws.client("sns")
        )
    return _processor.process(event)
