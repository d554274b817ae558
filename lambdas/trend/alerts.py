"""The alert contract: an SNS message with a JSON body and filterable attributes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from lambdas.trend.engine import Signal


def alert_body(signal: Signal) -> dict[str, Any]:
    values = {
        k: (round(v, 6) if v is not None else None) for k, v in asdict(signal.indicators).items()
    }
    return {
        "symbol": signal.symbol,
        "signal": signal.signal,
        "bar_time": signal.bar_time,
        "bar_start_ms": signal.bar_start_ms,
        "price": signal.price,
        "indicators": values,
        "rule": f"SMA{signal.fast} crossed {'above' if signal.signal == 'BUY' else 'below'} "
        f"SMA{signal.slow}",
    }


def publish_args(topic_arn: str, body: dict[str, Any]) -> dict[str, Any]:
    """SNS Publish arguments: readable subject for email/SMS, attributes for filter policies."""
    subject = f"{body['signal']} {body['symbol']} @ {body['price']:.2f}: {body['rule']}"
    return {
        "TopicArn": topic_arn,
        "Subject": subject[:100],
        "Message": orjson.dumps(body).decode(),
        "MessageAttributes": {
            "symbol": {"DataType": "String", "StringValue": body["symbol"]},
            "signal": {"DataType": "String", "StringValue": body["signal"]},
        },
    }
