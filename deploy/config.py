"""What a deployment may vary, read once from CDK context (`cdk.json` or `-c key=value`).

Plain Python with no CDK import, so the rules (and their error messages) are unit-tested
without Node. Every key has a default that deploys a working pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common.tick import SYMBOL_PATTERN

E164 = re.compile(r"\+[1-9]\d{6,14}")
EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")
NAME = re.compile(r"[a-z][a-z0-9-]{0,20}")
PRODUCER_SOURCES = ("yfinance", "synthetic")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731)
MAX_PROVISIONED_SHARDS = 500  # the default per-account shard quota of most regions


class ConfigError(ValueError):
    """A context value that cannot deploy; the message names the key and what is allowed."""


@dataclass(frozen=True)
class DeployConfig:
    name: str = "stockpipe"
    shards: int = 2  # 0 = on-demand capacity mode
    max_consumers: int = 4  # the task cap when the stream is on-demand (no fixed shard count)
    symbols: tuple[str, ...] = ("AAPL", "MSFT", "GOOG", "AMZN", "NVDA")
    producer_source: str = "yfinance"
    alert_emails: tuple[str, ...] = ()
    alert_sms: tuple[str, ...] = ()
    alert_symbols: tuple[str, ...] = ()  # filter policy of the subscriptions; () = every symbol
    alarm_email: str | None = None
    log_retention_days: int = 30
    history_days: int = 365  # raw Parquet history kept in S3; 0 = forever
    ticks_ttl_days: int = 7
    trend_batch_size: int = 100
    trend_bar: str = "1m"
    nat_gateways: int = 1  # 0 = tasks in public subnets with public IPs, no NAT cost
    # X-Ray traces nearly every invocation at ~1 a second: ~$12/month (docs/deploy.md)
    lambda_tracing: bool = False
    # 0 = none. Reserving fails on new accounts, whose concurrency quota is 10 or 50: Lambda
    # keeps 100 (or all of a smaller quota) unreserved. The stream's shards bound it anyway.
    trend_reserved_concurrency: int = 0

    @property
    def on_demand(self) -> bool:
        return self.shards == 0

    @property
    def consumer_cap(self) -> int:
        """More KCL workers than shards sit idle: each shard is leased by one worker."""
        return self.max_consumers if self.on_demand else self.shards

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> DeployConfig:
        """`get` is `node.try_get_context`: a value from cdk.json is typed, from `-c` a str."""
        d = cls()
        return cls(
            name=_name(get("name"), d.name),
            shards=_int(get, "shards", d.shards, 0, MAX_PROVISIONED_SHARDS),
            max_consumers=_int(get, "maxConsumers", d.max_consumers, 1, 100),
            symbols=_symbols(get("symbols"), "symbols") or d.symbols,
            producer_source=_choice(get, "producerSource", d.producer_source, PRODUCER_SOURCES),
            alert_emails=_matching(get("alertEmails"), "alertEmails", EMAIL, "an email address"),
            alert_sms=_matching(get("alertSms"), "alertSms", E164, "an E.164 number (+15551234)"),
            alert_symbols=_symbols(get("alertSymbols"), "alertSymbols"),
            alarm_email=(
                _matching(get("alarmEmail"), "alarmEmail", EMAIL, "an email address") or (None,)
            )[0],
            log_retention_days=_log_retention(get("logRetentionDays"), d.log_retention_days),
            history_days=_int(get, "historyDays", d.history_days, 0, 36_500),
            ticks_ttl_days=_int(get, "ticksTtlDays", d.ticks_ttl_days, 1, 3650),
            trend_batch_size=_int(get, "trendBatchSize", d.trend_batch_size, 1, 10_000),
            trend_bar=_choice(get, "trendBar", d.trend_bar, ("30s", "1m", "5m", "15m", "1h", "1d")),
            nat_gateways=_int(get, "natGateways", d.nat_gateways, 0, 3),
            lambda_tracing=_bool(get, "lambdaTracing", d.lambda_tracing),
            trend_reserved_concurrency=_int(
                get, "trendReservedConcurrency", d.trend_reserved_concurrency, 0, 1000
            ),
        )


def _name(value: Any, default: str) -> str:
    if value is None:
        return default
    if not NAME.fullmatch(str(value)):
        raise ConfigError(f"name={value!r}: lower-case letters, digits and '-', at most 21")
    return str(value)


def _int(get: Callable[[str], Any], key: str, default: int, low: int, high: int) -> int:
    value = get(key)
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(f"{key}={number} is outside {low}..{high}")
    return number


def _bool(get: Callable[[str], Any], key: str, default: bool) -> bool:
    value = get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if str(value).lower() not in ("true", "false"):
        raise ConfigError(f"{key}={value!r}: true or false")
    return str(value).lower() == "true"


def _choice(get: Callable[[str], Any], key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = get(key)
    if value is None:
        return default
    if value not in allowed:
        raise ConfigError(f"{key}={value!r}: one of {', '.join(allowed)}")
    return str(value)


def _items(value: Any) -> tuple[str, ...]:
    """A list from cdk.json, or a comma-separated string from `-c`."""
    if value is None:
        return ()
    parts = value if isinstance(value, list) else str(value).split(",")
    return tuple(str(p).strip() for p in parts if str(p).strip())


def _matching(value: Any, key: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    items = _items(value)
    for item in items:
        if not pattern.fullmatch(item):
            raise ConfigError(f"{key}: {item!r} is not {what}")
    return items


def _symbols(value: Any, key: str) -> tuple[str, ...]:
    items = tuple(s.upper() for s in _items(value))
    for item in items:
        if not SYMBOL_PATTERN.fullmatch(item):
            raise ConfigError(f"{key}: {item!r} is not a ticker symbol")
    return items


def _log_retention(value: Any, default: int) -> int:
    if value is None:
        return default
    days = int(value) if str(value).isdigit() else -1
    if days not in LOG_RETENTION_DAYS:
        raise ConfigError(
            f"logRetentionDays={value!r}: one of {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    return days
