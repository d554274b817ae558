"""Which source the producer reads, and how: one model for `python -m producer` and the CLI."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from producer.sources.base import QuoteSource

SourceName = Literal["synthetic", "replay", "yfinance"]


class SourceOptions(BaseSettings):
    """Set as STOCKPIPE_<NAME> in containers, or from `stockpipe produce` flags."""

    model_config = SettingsConfigDict(
        env_prefix="STOCKPIPE_", extra="ignore", env_ignore_empty=True
    )

    source: SourceName = "synthetic"
    seed: int = 7
    step_ms: int = 1000
    simulated_time: bool = False
    start_ms: int | None = None
    replay_path: str | None = None
    replay_speed: float = 0.0
    replay_loop: bool = False
    replay_symbol: str | None = None
    ignore_market_hours: bool = False
    limit: int | None = None


def build_source(options: SourceOptions, symbols: tuple[str, ...]) -> QuoteSource:
    """The configured source; imports only what that source needs."""
    if options.source == "synthetic":
        from producer.sources.synthetic import SyntheticSource

        return SyntheticSource(
            symbols,
            seed=options.seed,
            step_ms=options.step_ms,
            start_ms=options.start_ms,
            realtime=not options.simulated_time,
        )
    if options.source == "replay":
        from producer.sources.replay import ReplaySource

        if not options.replay_path:
            raise ValueError("the replay source needs a file (STOCKPIPE_REPLAY_PATH / --file)")
        return ReplaySource(
            options.replay_path,
            speed=options.replay_speed,
            loop=options.replay_loop,
            symbol=options.replay_symbol,
        )
    from producer.sources.yfinance_live import YFinanceLiveSource

    return YFinanceLiveSource(symbols, respect_market_hours=not options.ignore_market_hours)
