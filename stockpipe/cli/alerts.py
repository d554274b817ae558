"""Trend alerts: tail them (`alerts`) and subscribe endpoints to them (`subscribe`)."""

from __future__ import annotations

import threading
from typing import Annotated

import orjson
import typer

from common import aws
from producer.run import stop_on_signals
from stockpipe import alerts_feed
from stockpipe.cli import render
from stockpipe.cli.shared import Verbose, err, load_settings, out, target
from stockpipe.subscription_endpoints import check_endpoint
from stockpipe.trend_local import topic_arn


def alerts(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    verbose: Verbose = False,
) -> None:
    """Tail trend alerts from the local SQS queue subscribed to the alerts topic (Ctrl-C ends).

    Alerts appear while something runs the trend handler: `stockpipe demo`, or
    `stockpipe trend` next to `stockpipe consume`.
    """
    settings = load_settings(verbose)
    stop = threading.Event()
    stop_on_signals(stop)
    with target(settings) as found:
        sqs = aws.client("sqs", region=settings.region)
        queue_url = sqs.get_queue_url(QueueName=settings.alerts_queue)["QueueUrl"]
        err.print(f"waiting for alerts on {queue_url} ({found.endpoint or 'real AWS'})")
        seen = alerts_feed.SeenAlerts()  # a repeat after a trend crash has the same id
        while not stop.is_set():
            for alert in alerts_feed.receive(sqs, queue_url, wait_s=1, seen=seen):
                if json_output:
                    print(orjson.dumps(alert.body()).decode(), flush=True)
                else:
                    out.print(render.alert_line(alert))


def subscribe(
    protocol: Annotated[str, typer.Argument(help="email, sms, sqs, https or lambda")],
    endpoint: Annotated[str, typer.Argument(help="address, phone number (E.164) or ARN/URL")],
    symbol: Annotated[
        list[str] | None, typer.Option("--symbol", help="Only these symbols (repeatable).")
    ] = None,
    signal: Annotated[
        list[str] | None, typer.Option("--signal", help="Only BUY or SELL (repeatable).")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Subscribe an endpoint to trend alerts, optionally filtered by symbol and signal.

    Example: stockpipe subscribe email me@example.com --symbol AAPL --signal BUY
    (email subscriptions must be confirmed from the message SNS sends). The alerts topic
    must exist already: `stockpipe up` or the deploy stack creates it.
    """
    check_endpoint(protocol, endpoint)
    settings = load_settings(verbose)
    with target(settings):
        sns = aws.client("sns", region=settings.region)
        arn = alerts_feed.subscribe(
            sns,
            topic_arn(settings, sns),
            protocol,
            endpoint,
            symbols=symbol or [],
            signals=signal or [],
        )
        policy = alerts_feed.filter_policy(symbol or [], signal or [])
        err.print(f"subscribed {protocol}:{endpoint} {policy or '(all alerts)'}: {arn}")
