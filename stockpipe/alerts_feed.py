"""Read alerts from an SQS queue subscribed to the alerts topic; subscribe endpoints.

Delivery is at least once (a trend invocation that dies between publishing an alert and
removing it from its outbox publishes it again, and SQS itself may deliver twice), so readers
drop repeats by the alert's deterministic id, remembered in a bounded window (`SeenAlerts`).
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any

from common.alerts import Alert, InvalidAlert

log = logging.getLogger(__name__)

PROTOCOLS = ("email", "sms", "sqs", "https", "lambda")
SEEN_WINDOW = 10_000  # alert ids remembered; a repeat comes seconds to minutes after the first


class SeenAlerts:
    """The ids of the last `size` alerts seen: `first_time` is False for a repeat."""

    def __init__(self, size: int = SEEN_WINDOW) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self.repeats = 0

    def first_time(self, alert: Alert) -> bool:
        if alert.id in self._ids:
            self.repeats += 1
            return False
        self._ids[alert.id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


def receive(
    sqs: Any,
    queue_url: str,
    *,
    wait_s: int = 1,
    max_messages: int = 10,
    seen: SeenAlerts | None = None,
) -> list[Alert]:
    """Alerts from one ReceiveMessage call (SNS envelopes unwrapped), then deleted; with
    `seen`, repeats of an alert already returned are deleted and left out."""
    response = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait_s
    )
    alerts = []
    for message in response.get("Messages", []):
        try:
            alert = Alert.from_sns_envelope(message["Body"])
        except InvalidAlert as e:
            log.warning("skipped a message that is not an alert: %s", e)
        else:
            if seen is None or seen.first_time(alert):
                alerts.append(alert)
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return alerts


def drain(sqs: Any, queue_url: str, *, seen: SeenAlerts | None = None) -> list[Alert]:
    alerts: list[Alert] = []
    while batch := receive(sqs, queue_url, wait_s=0, seen=seen):
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
