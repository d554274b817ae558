"""What a deployment may vary, read once from CDK context (`cdk.json` or `-c key=value`).

Plain Python with no CDK import, so the rules (and their error messages) are unit-tested
without Node. Every key has a default that deploys a working pipeline.

Service options are not listed here: every field of the producer, consumer and trend
schemas in `common/settings.py` is a context key (its name in camelCase: `trend_fast` ->
`trendFast`), validated and defaulted by that schema, except the fields the stacks set
themselves (`WIRED`: resource names, the region, JSON logs). The stacks render each
service's environment with `DeployConfig.environment`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from common.settings import ConsumerSettings, ProducerSettings, ServiceSettings, TrendSettings
from common.tick import SYMBOL_PATTERN

E164 = re.compile(r"\+[1-9]\d{6,14}")
EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")
NAME = re.compile(r"[a-z][a-z0-9-]{0,20}")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731)
MAX_PROVISIONED_SHARDS = 500  # the default per-account shard quota of most regions
NETWORKS = ("public", "endpoints", "nat")

SERVICES: dict[str, type[ServiceSettings]] = {
    "producer": ProducerSettings,
    "consumer": ConsumerSettings,
    "trend": TrendSettings,
}
# set by the stacks from the resources they create, never from context
WIRED = frozenset(
    {
        "region",
        "log_format",
        "stream_name",
        "bucket",
        "ticks_table",
        "consumer_application",
        "trend_state_table",
        "alerts_topic_arn",
    }
)
# where a deployed service differs from the schema's default: AWS streams live quotes
DEPLOYED_DEFAULTS: dict[str, Any] = {"source": "yfinance"}
# a deployed producer has no replay file in its image
DEPLOYABLE_SOURCES = ("yfinance", "synthetic")


class ConfigError(ValueError):
    """A context value that cannot deploy; the message names the key and what is allowed."""


def context_key(name: str) -> str:
    """`trend_allowed_lateness` -> `trendAllowedLateness`."""
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def settable(schema: type[ServiceSettings]) -> list[str]:
    """The schema's fields a deployment takes from context."""
    return [name for name in schema.model_fields if name not in WIRED]


def service_context_keys() -> list[str]:
    """Every context key that sets a service option, in schema order, once."""
    keys = [context_key(n) for schema in SERVICES.values() for n in settable(schema)]
    return list(dict.fromkeys(keys))


@cache
def _from_values_only(schema: type[ServiceSettings]) -> type[ServiceSettings]:
    """The schema reading only the values given: a synth must not pick up the developer's
    own STOCKPIPE_* variables."""

    class FromValues(schema):  # type: ignore[misc,valid-type]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            **_others: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)

    FromValues.__name__ = schema.__name__
    return FromValues


def service_settings(service: str, values: Mapping[str, Any]) -> ServiceSettings:
    """`values` validated by the service's schema, the error naming the context key."""
    try:
        return _from_values_only(SERVICES[service])(**values)
    except ValidationError as e:
        error = e.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else ""
        shown = f"{context_key(name)}={values[name]!r}" if name in values else service
        raise ConfigError(f"{shown}: {error['msg']}") from None


@dataclass(frozen=True)
class DeployConfig:
    name: str = "stockpipe"
    shards: int = 1  # 0 = on-demand capacity mode; 1 000 records/s each
    max_consumers: int = 4  # the task cap when the stream is on-demand (no fixed shard count)
    alert_emails: tuple[str, ...] = ()
    alert_sms: tuple[str, ...] = ()
    alert_symbols: tuple[str, ...] = ()  # filter policy of the subscriptions; () = every symbol
    alarm_email: str | None = None
    log_retention_days: int = 30
    history_days: int = 365  # raw Parquet history kept in S3; 0 = forever
    # public: tasks in public subnets, HTTPS out only; endpoints: consumer (and a synthetic
    # producer) in isolated subnets reaching AWS through interface endpoints; nat: private
    # subnets behind natGateways NAT gateways
    network: str = "public"
    nat_gateways: int = 1  # with network=nat
    endpoint_azs: int = (
        2  # with network=endpoints: 1 halves their price, the AZ is then a dependency
    )
    all_flow_logs: bool = False  # rejected traffic only unless set
    container_insights: bool = False  # ~$7.50/month of custom metrics
    data_event_trail: bool = True  # CloudTrail data events of the history bucket
    consumer_cpu: int = 256  # 0.25 vCPU carries ~1 000 ticks/s; the KCL JVM starts slower
    # X-Ray traces nearly every invocation at ~1 a second: ~$12/month (docs/deploy.md)
    lambda_tracing: bool = False
    # 0 = none. Reserving fails on new accounts, whose concurrency quota is 10 or 50: Lambda
    # keeps 100 (or all of a smaller quota) unreserved. The stream's shards bound it anyway.
    trend_reserved_concurrency: int = 0
    # context values of service options, by service (field name -> value), not yet wired
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def on_demand(self) -> bool:
        return self.shards == 0

    @property
    def consumer_cap(self) -> int:
        """More KCL workers than shards sit idle: each shard is leased by one worker."""
        return self.max_consumers if self.on_demand else self.shards

    @property
    def consumer_memory(self) -> int:
        """The smallest Fargate memory for the CPU that still holds the JVM and Python."""
        return max(1024, 2 * self.consumer_cpu)

    def settings(self, service: str, **wired: Any) -> ServiceSettings:
        return service_settings(service, {**self.options.get(service, {}), **wired})

    def environment(self, service: str, **wired: Any) -> dict[str, str]:
        """The service's STOCKPIPE_* variables: every option, from context or its default."""
        return self.settings(service, **wired).to_env()

    @property
    def trend(self) -> TrendSettings:
        settings = self.settings("trend")
        assert isinstance(settings, TrendSettings)
        return settings

    @property
    def producer_source(self) -> str:
        return str(self.settings("producer").model_dump()["source"])

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> DeployConfig:
        """`get` is `node.try_get_context`: a value from cdk.json is typed, from `-c` a str."""
        d = cls()
        alarm_email = _matching(get("alarmEmail"), "alarmEmail", EMAIL, "an email address")
        config = cls(
            name=_name(get("name"), d.name),
            shards=_int(get, "shards", d.shards, 0, MAX_PROVISIONED_SHARDS),
            max_consumers=_int(get, "maxConsumers", d.max_consumers, 1, 100),
            alert_emails=_matching(get("alertEmails"), "alertEmails", EMAIL, "an email address"),
            alert_sms=_matching(get("alertSms"), "alertSms", E164, "an E.164 number (+15551234)"),
            alert_symbols=_symbols(get("alertSymbols"), "alertSymbols"),
            alarm_email=alarm_email[0] if alarm_email else None,
            log_retention_days=_log_retention(get("logRetentionDays"), d.log_retention_days),
            history_days=_int(get, "historyDays", d.history_days, 0, 36_500),
            network=_choice(get, "network", d.network, NETWORKS),
            nat_gateways=_int(get, "natGateways", d.nat_gateways, 1, 3),
            endpoint_azs=_int(get, "endpointAzs", d.endpoint_azs, 1, 2),
            all_flow_logs=_bool(get, "allFlowLogs", d.all_flow_logs),
            container_insights=_bool(get, "containerInsights", d.container_insights),
            data_event_trail=_bool(get, "dataEventTrail", d.data_event_trail),
            consumer_cpu=int(_choice(get, "consumerCpu", str(d.consumer_cpu), FARGATE_CPUS)),
            lambda_tracing=_bool(get, "lambdaTracing", d.lambda_tracing),
            trend_reserved_concurrency=_int(
                get, "trendReservedConcurrency", d.trend_reserved_concurrency, 0, 1000
            ),
            options=_service_options(get),
        )
        for service in SERVICES:
            config.settings(service)  # every option validated now, by its schema
        if config.producer_source not in DEPLOYABLE_SOURCES:
            raise ConfigError(f"source={config.producer_source!r}: one of yfinance, synthetic")
        return config


FARGATE_CPUS = ("256", "512", "1024")


def _service_options(get: Callable[[str], Any]) -> dict[str, dict[str, Any]]:
    """Each service's options given in context (plus the deployed defaults), by field name."""
    options: dict[str, dict[str, Any]] = {}
    for service, schema in SERVICES.items():
        chosen = options.setdefault(service, {})
        for name in settable(schema):
            value = get(context_key(name))
            if value is None:
                value = DEPLOYED_DEFAULTS.get(name)
            if name == "symbols" and value is not None:
                value = _symbols(value, "symbols") or None
            if value is not None:
                chosen[name] = value
    return options


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
    if str(value) not in allowed:
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
