"""Read alerts from an SQS queue subscribed to the alerts topic; subscribe endpoints."""

from __future__ import annotations

import json
import logging
from typing import Any

from common.alerts import Alert, InvalidAlert

log = logging.getLogger(__name__)

PROTOCOLS = ("email", "sms", "sqs", "https", "lambda")


def receive(sqs: Any, queue_url: str, *, wait_s: int = 1, max_messages: int = 10) -> list[Alert]:
    """Alerts from one ReceiveMessage call (SNS envelopes unwrapped), then deleted."""
    response = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait_s
    )
    alerts = []
    for message in response.get("Messages", []):
        try:
            alerts.append(Alert.from_sns_envelope(message["Body"]))
        except InvalidAlert as e:
            log.warning("skipped a message that is not an alert: %s", e)
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return alerts


def drain(sqs: Any, queue_url: str) -> list[Alert]:
    alerts: list[Alert] = []
    while batch := receive(sqs, queue_url, wait_s=0):
        alerts += batch
    return alerts


def filter_policy(symbols: list[str], signals: list[str]) -> dict[str, list[str]]:
    policy: dict[str, list[str]] = {}
    if symbols:
        policy["symbol"] = [s.upper() for s in symbols]
    if signals:
        policy["signal"] = [s.upper() for s in signals]
    return policy


def subscribe(
    sns: Any,
    topic_arn: str,
    protocol: str,
    endpoint: str,
    *,
    symbols: list[str],
    signals: list[str],
) -> str:
    """Subscribe an endpoint; with symbols/signals only matching alerts are delivered."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    attributes = {}
    policy = filter_policy(symbols, signals)
    if policy:
        attributes["FilterPolicy"] = json.dumps(policy)
    response = sns.subscribe(
        TopicArn=topic_arn,
        Protocol=protocol,
        Endpoint=endpoint,
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )
    return str(response["SubscriptionArn"])
