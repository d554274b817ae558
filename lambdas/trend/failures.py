"""The trend handler's failure destination: what it gives up on goes to an SQS queue (the
event source's on-failure queue on AWS), else to the error log; either way it is counted.

Two kinds: a stream record the handler cannot apply (`poison-record`, with the reason and the
record) and an alert pushed out of a full outbox (`outbox-overflow`, with the alert body, whose
`id` lets an operator re-publish it without sending a repeat)."""

from __future__ import annotations

import logging
from typing import Any

import orjson

log = logging.getLogger(__name__)

SOURCE = "stockpipe-trend"


class FailureDestination:
    def __init__(self, sqs: Any = None, queue_url: str | None = None) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        if queue_url and sqs is None:
            raise ValueError("a failure queue needs an SQS client")

    def send(self, kind: str, reason: str, payload: dict[str, Any]) -> None:
        log.error("%s given up: %s", kind, reason)
        if not self._queue_url:
            log.error("%s payload: %s", kind, orjson.dumps(payload, default=str).decode())
            return
        body = {"source": SOURCE, "kind": kind, "reason": reason, "payload": payload}
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=orjson.dumps(body, default=str).decode(),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
        )
