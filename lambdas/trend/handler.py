"""Lambda entry point: DynamoDB Streams batches of tick inserts -> trend state -> SNS alerts.

Per symbol: load state, fold the new ticks in (a re-delivered tick is known by its key), save
with a version condition together with the new alerts, each leased to this invocation (the
outbox), then publish each alert and remove it from the outbox. Only the writer whose
conditional save recorded or claimed an entry publishes it while its lease runs; an entry
whose lease ran out (its publisher crashed or failed) is claimed, again by a conditional
save, by the next invocation on the symbol. The window left: SNS accepted an alert and the
publisher died before removing it; the repeat carries the same id (docs/trend.md).

Only INSERT records of tick items are used: a consumer's replay rewrites an identical item
(MODIFY, or no record at all), the latest-quote item is not a tick, TTL deletes are REMOVE.
A record that cannot be read as a valid tick goes to the failure destination with the
reason at once (it would fail the same way on every retry); a failure to update a symbol
(AWS errors, a busy outbox) reports that symbol's records only (ReportBatchItemFailures),
so the event source retries them a bounded number of times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple

from common import aws, failpoints, tables
from common.alerts import Alert
from common.logs import setup_logging
from common.settings import TrendSettings
from common.tick import SYMBOL_PATTERN
from lambdas.trend import metrics
from lambdas.trend.alerts import to_alert
from lambdas.trend.engine import TickIn, TrendConfig, apply
from lambdas.trend.failures import FailureDestination
from lambdas.trend.state_store import OutboxEntry, StateStore, Stored

log = logging.getLogger(__name__)

COUNTERS = ("Ticks", "LateTicks", "Alerts", "FailedRecords", "PoisonRecords", "OutboxOverflow")


class ConfigurationError(ValueError):
    """The function's environment lacks what it needs; fails the first invocation loudly."""


class PoisonRecord(ValueError):
    """A stream record that is not a valid tick insert; retrying cannot change that."""


class OutboxBusy(RuntimeError):
    """Another live invocation holds the lease on an alert of this symbol: come back later."""


class Folded(NamedTuple):
    """What folding a symbol's ticks into its stored state came to."""

    fresh: int  # ticks not seen before
    late: int  # of those, ticks for a bar already closed
    overflow: int  # alerts pushed out of the full outbox (to the failure destination)
    mine: list[OutboxEntry]  # entries this invocation holds the lease on, to publish
    busy: bool  # another invocation holds the lease on an entry


def engine_config(settings: TrendSettings) -> TrendConfig:
    return TrendConfig(
        bar_ms=settings.bar_ms,
        fast=settings.trend_fast,
        slow=settings.trend_slow,
        allowed_lateness_ms=settings.allowed_lateness_ms,
        hysteresis=settings.trend_hysteresis,
        cooldown_bars=settings.trend_cooldown_bars,
        max_jump_ms=settings.watermark_jump_ms,
        confirmations=settings.trend_watermark_confirmations,
    )


class TrendProcessor:
    """The handler's work, with injected clients (tests, the local poller)."""

    def __init__(
        self,
        settings: TrendSettings,
        dynamodb: Any,
        sns: Any,
        *,
        sqs: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not settings.alerts_topic_arn:
            raise ConfigurationError("STOCKPIPE_ALERTS_TOPIC_ARN is not set")
        self._topic_arn = settings.alerts_topic_arn
        self._config = engine_config(settings)
        self._store = StateStore(dynamodb, settings.trend_state_table)
        self._sns = sns
        queue = settings.trend_failure_queue_url
        self._failures = FailureDestination(
            sqs or (aws.client("sqs", region=settings.region) if queue else None), queue
        )
        self._outbox_cap = settings.trend_outbox_cap
        self._lease_ms = settings.publish_lease_ms
        self._clock = clock

    def process(self, event: Mapping[str, Any]) -> dict[str, Any]:
        counts = dict.fromkeys(COUNTERS, 0)
        by_symbol: dict[str, list[tuple[str, TickIn]]] = {}
        for record in event.get("Records", []):
            try:
                parsed = _tick_from_record(record)
            except PoisonRecord as e:
                self._failures.send("poison-record", str(e), {"record": record})
                counts["PoisonRecords"] += 1
                continue
            if parsed is not None:
                symbol, tick = parsed
                by_symbol.setdefault(symbol, []).append(
                    (record["dynamodb"]["SequenceNumber"], tick)
                )
        failures: list[dict[str, str]] = []
        for symbol, items in by_symbol.items():
            try:
                self._process_symbol(symbol, [tick for _, tick in items], counts)
            except OutboxBusy:
                log.info("alerts of %s are being published by another invocation; retry", symbol)
                failures += [{"itemIdentifier": seq} for seq, _ in items]
            except Exception:
                log.exception("trend update for %s failed; reporting its records", symbol)
                failures += [{"itemIdentifier": seq} for seq, _ in items]
                counts["FailedRecords"] += len(items)
        metrics.emit(counts, dimensions={"Function": "trend"})
        return {"batchItemFailures": failures}

    def _process_symbol(self, symbol: str, ticks: list[TickIn], counts: dict[str, int]) -> None:
        folded = self._store.update(symbol, partial(self._fold, ticks))
        counts["Ticks"] += folded.fresh
        counts["LateTicks"] += folded.late
        counts["OutboxOverflow"] += folded.overflow
        if folded.mine:
            failpoints.hit("trend-after-save")
        self._publish(symbol, folded.mine, counts)
        if folded.busy:
            raise OutboxBusy(symbol)

    def _fold(self, ticks: list[TickIn], stored: Stored) -> Folded:
        """Fold the ticks into the stored state (a re-delivered one changes nothing), record
        the new alerts in the outbox and claim what we may publish."""
        late_before, known = stored.state.late_ticks, set(stored.state.recent)
        fresh = len({t.key for t in ticks} - known)
        signals = apply(stored.state, ticks, self._config)
        stored.outbox += [OutboxEntry(to_alert(s).body(), 0) for s in signals]
        overflow = self._trim(stored)
        mine = self._claim(stored)
        busy = len(mine) < len(stored.outbox)
        return Folded(fresh, stored.state.late_ticks - late_before, overflow, mine, busy)

    def _trim(self, stored: Stored) -> int:
        """Send what is beyond the cap (oldest first) to the failure destination; how many."""
        overflow = stored.outbox[: max(0, len(stored.outbox) - self._outbox_cap)]
        for entry in overflow:
            self._failures.send(
                "outbox-overflow", f"outbox of {stored.state.symbol} full", entry.alert
            )
        del stored.outbox[: len(overflow)]
        return len(overflow)

    def _claim(self, stored: Stored) -> list[OutboxEntry]:
        """Lease to us the entries whose lease ran out (new ones have none); returns them."""
        now = int(self._clock() * 1000)
        mine = [e for e in stored.outbox if e.lease_until_ms <= now]
        for entry in mine:
            entry.lease_until_ms = now + self._lease_ms
        return mine

    def _publish(self, symbol: str, mine: list[OutboxEntry], counts: dict[str, int]) -> None:
        """Publish the entries we hold the lease on, each removed from the outbox right after
        (the publish/clear window is one alert wide)."""
        for n, entry in enumerate(mine):
            alert = Alert.from_body(entry.alert)
            try:
                self._sns.publish(**alert.publish_args(self._topic_arn))
            except Exception:
                unsent = {e.id for e in mine[n:]}
                self._store.update(symbol, partial(_release, ids=unsent))
                raise
            failpoints.hit("trend-after-publish")
            log.info("alert %s", alert.id)
            counts["Alerts"] += 1
            self._store.update(symbol, partial(_drop, alert_id=alert.id))


def _drop(stored: Stored, alert_id: str) -> None:
    """Remove a published alert, by its id: entries others added meanwhile stay."""
    stored.outbox = [e for e in stored.outbox if e.id != alert_id]


def _release(stored: Stored, ids: set[str]) -> None:
    """Give up our lease on unpublished alerts so the retry can publish them at once."""
    for entry in stored.outbox:
        if entry.id in ids:
            entry.lease_until_ms = 0


def _tick_from_record(record: Mapping[str, Any]) -> tuple[str, TickIn] | None:
    """The tick of an INSERT record; None for what is not for us; PoisonRecord if broken."""
    if not isinstance(record, Mapping) or record.get("eventName") != "INSERT":
        return None
    data = record.get("dynamodb")
    if not isinstance(data, Mapping) or not isinstance(data.get("SequenceNumber"), str):
        raise PoisonRecord("stream record without dynamodb.SequenceNumber")
    image = data.get("NewImage")
    if not isinstance(image, Mapping):
        raise PoisonRecord(f"INSERT {data['SequenceNumber']} has no NewImage")
    try:
        item = tables.decode_tick_item(image)
    except ValueError as e:
        raise PoisonRecord(f"record {data['SequenceNumber']}: {e}") from e
    if item is None:
        return None
    price = Decimal(item.price)
    problems = [
        f"symbol {item.symbol!r} breaks the symbol rule"
        if not SYMBOL_PATTERN.fullmatch(item.symbol)
        else "",
        f"price {price} is not a positive finite number"
        if not (price.is_finite() and price > 0)
        else "",
        f"event time {item.event_time_ms} is negative" if item.event_time_ms < 0 else "",
        f"volume {item.volume} is negative" if item.volume < 0 else "",
    ]
    if any(problems):
        reason = "; ".join(p for p in problems if p)
        raise PoisonRecord(f"record {data['SequenceNumber']}: {reason}")
    return item.symbol, TickIn(item.id, item.event_time_ms, price, item.volume)


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
