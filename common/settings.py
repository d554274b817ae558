"""Runtime configuration, read once from `STOCKPIPE_*` environment variables at entry points.

Entry points build a `Settings` and pass plain values inward; library code never reads the
environment itself.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "NVDA")


class Settings(BaseSettings):
    """Resource names, sizes and intervals; every field can be set as STOCKPIPE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="STOCKPIPE_", extra="ignore")

    region: str | None = Field(
        default=None, description="AWS region; unset means the standard AWS configuration"
    )
    stream_name: str = "stockpipe-ticks"
    shard_count: int = Field(default=2, ge=1, le=500)
    bucket: str = "stockpipe-history"
    ticks_table: str = "stockpipe-ticks"
    alerts_topic: str = "stockpipe-alerts"
    alerts_queue: str = "stockpipe-alerts-local"
    dashboard_queue: str = Field(
        default="stockpipe-alerts-dashboard", description="the dashboard's alerts subscription"
    )
    glue_database: str = "stockpipe"
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

    consumer_application: str = Field(
        default="stockpipe-consumer", description="KCL application name = its lease table"
    )
    consumer_flush_records: int = Field(default=5000, ge=1, description="records per flush")
    consumer_flush_age_ms: int = Field(default=2000, ge=0, description="longest buffering")
    consumer_max_records: int = Field(default=1000, ge=1, le=10_000, description="per GetRecords")
    consumer_poll_ms: int = Field(default=250, ge=0, description="idle time between reads")
    ticks_ttl_days: int = Field(default=7, ge=1, description="DynamoDB tick retention")
    kcl_failover_ms: int = Field(default=10_000, ge=1000, description="lease expiry")
    kcl_shard_sync_ms: int = Field(
        default=10_000, ge=1000, description="shard sync interval; the first sync also waits this"
    )
    kcl_shutdown_grace_ms: int = Field(default=10_000, ge=0, description="flush time on stop")

    trend_state_table: str = "stockpipe-trend-state"
    trend_bar: str = Field(default="1m", description="bar length: 30s, 1m, 5m, 1h, 1d")
    trend_fast: int = Field(default=5, ge=1)
    trend_slow: int = Field(default=20, ge=2)
    trend_allowed_lateness: str = Field(default="1m", description="late ticks are dropped")
    trend_hysteresis: float = Field(default=0.0, ge=0, description="fraction of the slow SMA")
    trend_cooldown_bars: int = Field(default=0, ge=0)
    trend_batch_size: int = Field(default=100, ge=1, le=10_000, description="records/invoke")

    athena_workgroup: str = "stockpipe"
    athena_output: str | None = Field(
        default=None, description="query result location; default s3://<bucket>/athena-results/"
    )

    log_format: str = Field(default="human", pattern="^(human|json)$")
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _lease_table_is_not_the_ticks_table(self) -> Settings:
        if self.consumer_application == self.ticks_table:
            raise ValueError(
                f"consumer_application {self.consumer_application!r} names the KCL lease table "
                "and must differ from ticks_table"
            )
        return self

    def to_env(self) -> dict[str, str]:
        """These settings as STOCKPIPE_* variables, for child processes."""
        env = {}
        for name, value in self.model_dump(exclude_none=True).items():
            text = ",".join(value) if isinstance(value, tuple) else str(value)
            env[f"STOCKPIPE_{name.upper()}"] = text
        return env

    @staticmethod
    def parse_symbols(text: str) -> tuple[str, ...]:
        """`"aapl, msft"` -> `("AAPL", "MSFT")`."""
        return tuple(s.strip().upper() for s in text.split(",") if s.strip())

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: object) -> object:
        return cls.parse_symbols(value) if isinstance(value, str) else value
