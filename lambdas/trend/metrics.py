"""CloudWatch metrics as Embedded Metric Format lines (no API calls, no extra package).

An EMF line must be the JSON document itself, so metrics have their own plain handler
instead of the JSON log formatter. They are written to stderr (CloudWatch Logs in Lambda);
outside Lambda they are off unless the `stockpipe.metrics` logger is set to INFO.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

import orjson

NAMESPACE = "stockpipe"
log = logging.getLogger("stockpipe.metrics")


def configure() -> None:
    """Once per process: a raw-message handler; INFO inside Lambda, WARNING elsewhere."""
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else logging.WARNING)


def document(counts: dict[str, int], dimensions: dict[str, str]) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in counts],
                }
            ],
        },
        **dimensions,
        **counts,
    }


def emit(counts: dict[str, int], *, dimensions: dict[str, str]) -> None:
    configure()
    if log.isEnabledFor(logging.INFO):
        log.info(orjson.dumps(document(counts, dimensions)).decode())
