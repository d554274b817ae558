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
from collections.abc import Mapping
from typing import Any

from common import aws, tables
from common.alerts import Alert
from common.logs import setup_logging
from common.settings import TrendSettings
from lambdas.trend import metrics
from lambdas.trend.alerts import to_alert
from lambdas.trend.engine import TickIn, TrendConfig, apply
from lambdas.trend.state_store import StateStore, VersionConflict

log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 3


class ConfigurationError(ValueError):
    """The function's environment lacks what it needs; fails the first invocation loudly."""


def engine_config(settings: TrendSettings) -> TrendConfig:
    return TrendConfig(
        bar_ms=settings.bar_ms,
        fast=settings.trend_fast,
        slow=settings.trend_slow,
        allowed_lateness_ms=settings.allowed_lateness_ms,
        hysteresis=settings.trend_hysteresis,
        cooldown_bars=settings.trend_cooldown_bars,
    )


class TrendProcessor:
    """The handler's work, with injected clients (tests, the local poller)."""

    def __init__(self, settings: TrendSettings, dynamodb: Any, sns: Any) -> None:
        if not settings.alerts_topic_arn:
            raise ConfigurationError("STOCKPIPE_ALERTS_TOPIC_ARN is not set")
        self._topic_arn = settings.alerts_topic_arn
        self._config = engine_config(settings)
        self._store = StateStore(dynamodb, settings.trend_state_table)
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
                signals = apply(state, [t for _, t in fresh], self._config)
                state.last_stream_sequence = str(max(n for n, _ in fresh))
                pending = pending + [to_alert(s).body() for s in signals]
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
                alert = Alert.from_body(body)
                self._sns.publish(**alert.publish_args(self._topic_arn))
                log.info("alert %s", alert.id)
            counts["Alerts"] += len(pending)
            self._store.save(state, [], version)


def _tick_from_record(record: Mapping[str, Any]) -> tuple[str, TickIn] | None:
    if record.get("eventName") != "INSERT":
        return None
    image = record.get("dynamodb", {}).get("NewImage")
    if not image:
        return None
    try:
        item = tables.decode_tick_item(image)
    except ValueError:
        log.warning("stream record %s is not a tick item; skipped", record.get("eventID"))
        return None
    if item is None:
        return None
    return item.symbol, TickIn(
        id=item.id, event_time_ms=item.event_time_ms, price=item.price, volume=item.volume
    )


_processor: TrendProcessor | None = None


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """AWS Lambda entry point; clients and settings are made once per container."""
    global _processor  # noqa: PLW0603 - one processor per Lambda container, made lazily
    if _processor is None:
        settings = TrendSettings()
        setup_logging(settings.log_level, "json")
        _processor = TrendProcessor(
            settings,
            aws.client("dynamodb", region=settings.region),
            aws.client("sns", region=settings.region),
        )
    return _processor.process(event)
