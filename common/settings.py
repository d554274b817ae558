"""Runtime configuration: one schema per service, read once from `STOCKPIPE_*` variables.

Each process parses only its own schema at its entry point (the producer `ProducerSettings`,
a consumer `ConsumerSettings`, the trend Lambda `TrendSettings`); the CLI and the local stack
run all of them and parse `Settings`, which is their union. The CDK app and the compose file
render the services' environments from the same schemas (`to_env`), so an option is declared,
defaulted and validated here and nowhere else. Library code never reads the environment.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from common.tick import MAX_FUTURE_SKEW_MS

DEFAULT_SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "NVDA")
ENV_PREFIX = "STOCKPIPE_"
BAR_LENGTHS = ("30s", "1m", "5m", "15m", "1h", "1d")
SourceName = Literal["synthetic", "replay", "yfinance"]

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(text: str) -> int:
    """'1m' -> 60000; units ms, s, m, h, d."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"duration {text!r} is not like 30s, 1m, 5m, 1h or 1d")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_symbols(text: str) -> tuple[str, ...]:
    """`"aapl, msft"` -> `("AAPL", "MSFT")`."""
    return tuple(s.strip().upper() for s in text.split(",") if s.strip())


class ServiceSettings(BaseSettings):
    """What every process needs: the region and how to log."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    region: str | None = Field(
        default=None, description="AWS region; unset means the standard AWS configuration"
    )
    log_format: str = Field(default="human", pattern="^(human|json)$")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    def to_env(self) -> dict[str, str]:
        """These settings as STOCKPIPE_* variables, for child processes and service configs."""
        env = {}
        for name, value in self.model_dump(exclude_none=True).items():
            text = ",".join(value) if isinstance(value, tuple) else str(value)
            env[env_name(name)] = text
        return env

    @classmethod
    def env_names(cls) -> list[str]:
        """Every variable this schema reads."""
        return [env_name(name) for name in cls.model_fields]


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


class ProducerSettings(ServiceSettings):
    """`python -m producer`: which quotes, into which stream, how to batch and retry."""

    stream_name: str = "stockpipe-ticks"
    symbols: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SYMBOLS
    producer_buffer_records: int = Field(
        default=10_000, ge=1, description="records queued before the producer blocks its source"
    )
    producer_linger_ms: int = Field(
        default=200, ge=0, description="longest wait to fill a PutRecords batch"
    )
    producer_max_attempts: int = Field(
        default=8, ge=1, description="PutRecords attempts per record before it counts as failed"
    )
    source: SourceName = "synthetic"
    seed: int = 7
    step_ms: int = Field(default=1000, ge=1, description="synthetic: time between quotes")
    simulated_time: bool = Field(default=False, description="synthetic: do not wait in real time")
    start_ms: int | None = None
    replay_path: str | None = None
    replay_speed: float = Field(default=0.0, ge=0, description="0 = as fast as possible")
    replay_loop: bool = False
    replay_symbol: str | None = None
    ignore_market_hours: bool = False
    limit: int | None = Field(default=None, ge=1, description="stop after this many ticks")

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: object) -> object:
        return parse_symbols(value) if isinstance(value, str) else value


class ConsumerSettings(ServiceSettings):
    """`python -m consumer` (a KCL worker) and the local driver: where ticks go, how often."""

    stream_name: str = "stockpipe-ticks"
    bucket: str = "stockpipe-history"
    ticks_table: str = "stockpipe-ticks"
    consumer_application: str = Field(
        default="stockpipe-consumer", description="KCL application name = its lease table"
    )
    # hot path: DynamoDB per GetRecords batch; cold path: Parquet per size/age bound
    # (docs/consumer.md "Two paths"); the checkpoint trails the cold flush
    consumer_cold_age_ms: int = Field(
        default=300_000, ge=0, description="longest a row waits for its Parquet object"
    )
    consumer_cold_max_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1,
        description="history buffer cap per shard; reaching it flushes",
    )
    consumer_max_records: int = Field(default=1000, ge=1, le=10_000, description="per GetRecords")
    consumer_poll_ms: int = Field(default=250, ge=0, description="idle time between reads")
    ticks_ttl_days: int = Field(default=7, ge=1, description="DynamoDB tick retention")
    consumer_max_future_skew_ms: int = Field(
        default=MAX_FUTURE_SKEW_MS,
        ge=0,
        description="a tick stamped further ahead of its Kinesis arrival is dead-lettered",
    )
    kcl_failover_ms: int = Field(default=10_000, ge=1000, description="lease expiry")
    kcl_shard_sync_ms: int = Field(
        default=10_000, ge=1000, description="shard sync interval; the first sync also waits this"
    )
    kcl_shutdown_grace_ms: int = Field(default=10_000, ge=0, description="flush time on stop")
    kcl_coordinator_table: str | None = Field(
        default=None,
        description="KCL 3 coordinator state table; default <application>-CoordinatorState",
    )
    kcl_worker_metrics_table: str | None = Field(
        default=None,
        description="KCL 3 worker metrics table; default <application>-WorkerMetricStats",
    )
    kcl_worker_metrics_ms: int = Field(
        default=30_000,
        ge=1000,
        description="KCL 3 worker-metrics report interval; leases are "
        "assigned only to workers that have reported",
    )

    @model_validator(mode="after")
    def _lease_table_is_not_the_ticks_table(self) -> ConsumerSettings:
        if self.consumer_application == self.ticks_table:
            raise ValueError(
                f"consumer_application {self.consumer_application!r} names the KCL lease table "
                "and must differ from ticks_table"
            )
        return self


class TrendSettings(ServiceSettings):
    """The trend Lambda (and `stockpipe trend`): bars, crossover rule, state and alert topic."""

    trend_state_table: str = "stockpipe-trend-state"
    alerts_topic_arn: str | None = Field(
        default=None, description="SNS topic ARN for alerts (set on Lambda; looked up locally)"
    )
    trend_bar: str = Field(default="1m", description=f"bar length: {', '.join(BAR_LENGTHS)}")
    trend_fast: int = Field(default=5, ge=1, description="fast SMA period, in bars")
    trend_slow: int = Field(default=20, ge=2, description="slow SMA period, in bars")
    trend_allowed_lateness: str = Field(default="1m", description="late ticks are dropped")
    trend_hysteresis: float = Field(default=0.0, ge=0, lt=1, description="fraction of slow SMA")
    trend_cooldown_bars: int = Field(default=0, ge=0, description="bars between two alerts")
    trend_batch_size: int = Field(default=100, ge=1, le=10_000, description="records/invoke")
    trend_watermark_jump: str = Field(
        default="10m", description="a tick further ahead of the watermark is held until confirmed"
    )
    trend_watermark_confirmations: int = Field(
        default=3, ge=1, le=64, description="consecutive held ticks that confirm a jump"
    )
    trend_outbox_cap: int = Field(
        default=100, ge=1, le=400, description="unpublished alerts kept per symbol"
    )
    trend_publish_lease: str = Field(
        default="2m", description="after this, another invocation may publish an alert (> timeout)"
    )
    trend_failure_queue_url: str | None = Field(
        default=None, description="SQS queue for records and alerts given up on (else logged)"
    )

    @field_validator("trend_bar")
    @classmethod
    def _known_bar(cls, value: str) -> str:
        if value not in BAR_LENGTHS:
            raise ValueError(f"bar length {value!r} is not one of {', '.join(BAR_LENGTHS)}")
        return value

    @field_validator("trend_allowed_lateness", "trend_watermark_jump", "trend_publish_lease")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration_ms(value)
        return value

    @model_validator(mode="after")
    def _fast_below_slow(self) -> TrendSettings:
        if self.trend_fast >= self.trend_slow:
            raise ValueError(f"trend_fast ({self.trend_fast}) must be below trend_slow")
        return self

    @property
    def bar_ms(self) -> int:
        return parse_duration_ms(self.trend_bar)

    @property
    def allowed_lateness_ms(self) -> int:
        return parse_duration_ms(self.trend_allowed_lateness)

    @property
    def watermark_jump_ms(self) -> int:
        return parse_duration_ms(self.trend_watermark_jump)

    @property
    def publish_lease_ms(self) -> int:
        return parse_duration_ms(self.trend_publish_lease)


class Settings(ProducerSettings, ConsumerSettings, TrendSettings):
    """The CLI and the local stack run every service: the union of their schemas, plus the
    resources only they create or read (stream size, topic and queue names, Glue, Athena)."""

    shard_count: int = Field(default=2, ge=1, le=500)
    alerts_topic: str = "stockpipe-alerts"
    alerts_queue: str = "stockpipe-alerts-local"
    dashboard_queue: str = Field(
        default="stockpipe-alerts-dashboard", description="the dashboard's alerts subscription"
    )
    glue_database: str = "stockpipe"
    athena_workgroup: str = "stockpipe"
    athena_output: str | None = Field(
        default=None, description="query result location; default s3://<bucket>/athena-results/"
    )
