"""Build the configured quote source from the producer's settings (`common.settings`)."""

from __future__ import annotations

from common.settings import ProducerSettings
from producer.sources.base import QuoteSource


def build_source(options: ProducerSettings) -> QuoteSource:
    """The configured source; imports only what that source needs."""
    symbols = options.symbols
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
