"""Named history queries, in Trino SQL (Athena's dialect); the local engine translates them.

Parameters are validated (symbol pattern, ISO dates) before they are put into the SQL. Every
query over ticks reads them through `UNIQUE_TICKS`, one row per tick id: a tick the producer
sent twice can sit in two Parquet objects (docs/consumer.md "Duplicates across flushes").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from common.tick import SYMBOL_PATTERN

# The period's ticks, one row per id. Copies of an id are the same quote (the id hashes its
# fields), so which one is kept changes no result; the ORDER BY only makes the choice stable.
UNIQUE_TICKS = """(
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY id ORDER BY arrival_ms, sequence_number)
            AS copy_number
        FROM ticks
        WHERE {symbol_filter} AND {date_filter}
    ) WHERE copy_number = 1
) AS unique_ticks"""


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str  # with {ticks} (UNIQUE_TICKS), {symbol_filter}, {date_filter}, {from}, {to}

    def render(self, *, symbol: str | None, start: str, end: str) -> str:
        for value in (start, end):
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(f"date {value!r} must be YYYY-MM-DD")
            date.fromisoformat(value)
        if symbol is not None and not SYMBOL_PATTERN.fullmatch(symbol):
            raise ValueError(f"symbol {symbol!r} is not a valid symbol")
        filters = {
            "symbol_filter": f"symbol = '{symbol}'" if symbol else "TRUE",
            "date_filter": f"dt BETWEEN '{start}' AND '{end}'",
        }
        return self.sql.format(
            ticks=UNIQUE_TICKS.format(**filters), **filters, **{"from": start, "to": end}
        )


QUERIES = {
    q.name: q
    for q in (
        NamedQuery(
            "daily-ohlc",
            "open, high, low, close, volume and tick count per symbol per day",
            """SELECT symbol, dt AS day,
       min_by(price, event_time_ms) AS open, max(price) AS high, min(price) AS low,
       max_by(price, event_time_ms) AS close, sum(volume) AS volume, count(*) AS ticks
FROM {ticks}
GROUP BY symbol, dt
ORDER BY symbol, day""",
        ),
        NamedQuery(
            "vwap",
            "volume-weighted average price per symbol per day",
            """SELECT symbol, dt AS day,
       sum(price * volume) / nullif(sum(volume), 0) AS vwap, sum(volume) AS volume
FROM {ticks}
GROUP BY symbol, dt
ORDER BY symbol, day""",
        ),
        NamedQuery(
            "minute-bars",
            "1-minute open, high, low, close and volume (the dashboard's history chart)",
            """SELECT symbol, date_trunc('minute', event_time) AS minute,
       min_by(price, event_time_ms) AS open, max(price) AS high, min(price) AS low,
       max_by(price, event_time_ms) AS close, sum(volume) AS volume
FROM {ticks}
GROUP BY symbol, date_trunc('minute', event_time)
ORDER BY symbol, minute""",
        ),
        NamedQuery(
            "sma-crossovers",
            "1-minute bar closes with SMA-5 and SMA-20, and BUY/SELL where they cross",
            """WITH bars AS (
    SELECT symbol, date_trunc('minute', event_time) AS minute,
           max_by(price, event_time_ms) AS close
    FROM {ticks}
    GROUP BY symbol, date_trunc('minute', event_time)
), smas AS (
    SELECT symbol, minute, close,
           CASE WHEN count(*) OVER w5 = 5 THEN avg(close) OVER w5 END AS sma_5,
           CASE WHEN count(*) OVER w20 = 20 THEN avg(close) OVER w20 END AS sma_20
    FROM bars
    WINDOW w5 AS (PARTITION BY symbol ORDER BY minute ROWS BETWEEN 4 PRECEDING AND CURRENT ROW),
           w20 AS (PARTITION BY symbol ORDER BY minute ROWS BETWEEN 19 PRECEDING AND CURRENT ROW)
), sides AS (
    SELECT *, sign(sma_5 - sma_20) AS side,
           lag(sign(sma_5 - sma_20)) OVER (PARTITION BY symbol ORDER BY minute) AS prev_side
    FROM smas
)
SELECT symbol, minute, close, sma_5, sma_20,
       CASE WHEN prev_side = -1 AND side = 1 THEN 'BUY'
            WHEN prev_side = 1 AND side = -1 THEN 'SELL' END AS crossover
FROM sides
ORDER BY symbol, minute""",
        ),
        NamedQuery(
            "top-movers",
            "symbols ranked by change from first to last price over the period",
            """SELECT symbol, min_by(price, event_time_ms) AS first_price,
       max_by(price, event_time_ms) AS last_price,
       round((max_by(price, event_time_ms) / min_by(price, event_time_ms) - 1) * 100, 3)
           AS change_pct
FROM {ticks}
GROUP BY symbol
ORDER BY change_pct DESC""",
        ),
        NamedQuery(
            "gaps",
            "minutes of US regular trading hours (09:30-16:00 New York) without a tick, per day",
            """WITH minutes AS (
    SELECT DISTINCT symbol, dt,
           date_diff('minute', date_trunc('day', local_time), date_trunc('minute', local_time))
               AS minute_of_day
    FROM (SELECT symbol, dt, event_time AT TIME ZONE 'America/New_York' AS local_time
          FROM {ticks})
)
SELECT symbol, dt AS day,
       390 - count_if(minute_of_day BETWEEN 570 AND 959) AS missing_minutes,
       count_if(minute_of_day BETWEEN 570 AND 959) AS minutes_with_ticks
FROM minutes
GROUP BY symbol, dt
ORDER BY symbol, day""",
        ),
        NamedQuery(
            "dead-letters",
            "dead letters by rule, with the first and last arrival",
            """SELECT rule, count(*) AS records, min(from_unixtime(arrival_ms / 1000)) AS first,
       max(from_unixtime(arrival_ms / 1000)) AS last, arbitrary(reason) AS example_reason
FROM dead_letters
WHERE {date_filter}
GROUP BY rule
ORDER BY records DESC""",
        ),
    )
}
