"""How the commands look: progress displays, tables and lines. No AWS calls, no decisions."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from common.alerts import Alert
from stockpipe.cost import LineItem
from stockpipe.history.result import QueryResult

if TYPE_CHECKING:
    from stockpipe.demo import DemoReport
    from stockpipe.demo import Progress as DemoProgress


@contextmanager
def demo_progress(
    console: Console, ticks: int, *, disabled: bool
) -> Iterator[Callable[[DemoProgress], None]]:
    """Three live bars (produced, stored, alerts); yields the demo's progress callback."""
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[extra]}"),
        TimeElapsedColumn(),
        console=console,
        disable=disabled,
    ) as bars:
        produced = bars.add_task("produced to Kinesis", total=ticks, extra="")
        stored = bars.add_task("in DynamoDB (S3 at stop)", total=ticks, extra="")
        alerted = bars.add_task("trend alerts (SNS -> SQS)", total=None, extra="")

        def show(p: DemoProgress) -> None:
            bars.update(produced, completed=p.produced)
            bars.update(alerted, completed=p.alerts)
            lag = p.recent_lag_ms()
            extra = "" if lag is None else f"lag p50 {lag:.0f} ms, {p.dead_letters} dead letters"
            bars.update(stored, completed=p.stored, extra=extra)

        yield show


def demo_summary(console: Console, report: DemoReport) -> None:
    table = Table(title="demo summary", show_header=False)
    for key, value in vars(report).items():
        if key != "latest_alerts":
            table.add_row(key, str(value))
    console.print(table)
    if report.latest_alerts:
        signals = Table("signal", "symbol", "bar (UTC)", "price", title="latest alerts")
        for alert in report.latest_alerts:
            colour = "green" if alert["signal"] == "BUY" else "red"
            signals.add_row(
                f"[{colour}]{alert['signal']}[/]",
                str(alert["symbol"]),
                str(alert["bar_time"]),
                str(alert["price"]),
            )
        console.print(signals)


@contextmanager
def tick_counter(console: Console, limit: int | None) -> Iterator[Callable[[object], None]]:
    """A live count of ticks produced; yields the per-tick callback."""
    with Progress(
        TextColumn("{task.description}"), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("ticks produced", total=limit)
        yield lambda _tick: bar.advance(task)


def alert_line(alert: Alert) -> str:
    colour = "green" if alert.signal == "BUY" else "red"
    values = alert.indicators
    return (
        f"[{colour}]{alert.signal:<4}[/] {alert.symbol:<8} "
        f"{alert.bar_time}  price {alert.price:.2f}  "
        f"SMA {values['sma_fast'] or float('nan'):.2f}/"
        f"{values['sma_slow'] or float('nan'):.2f}  "
        f"RSI {values['rsi_14'] or float('nan'):.1f}"
    )


def query_result(result: QueryResult, output: str, console: Console) -> None:
    """The rows as a table, CSV or a JSON array (the last two plain on stdout)."""
    if output == "json":
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        print(orjson.dumps(rows, default=str, option=orjson.OPT_NON_STR_KEYS).decode())
    elif output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
        print(buffer.getvalue(), end="")
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)


def cost_table(title: str, items: list[LineItem]) -> Table:
    table = Table(title=title)
    for column in ("service", "item"):
        table.add_column(column)
    table.add_column("USD", justify="right")
    for item in items:
        table.add_row(item.service, item.item, f"{item.usd:,.2f}")
    table.add_row("", "[b]total[/]", f"[b]{sum(i.usd for i in items):,.2f}[/]")
    return table
