"""CloudWatch metrics as Embedded Metric Format log lines (no API calls, no extra package).

Written through logging (stderr locally, CloudWatch Logs in Lambda), never to stdout, so a
local run's stdout stays clean.
"""

from __future__ import annotations

import logging
import time

import orjson

NAMESPACE = "stockpipe"
log = logging.getLogger("stockpipe.metrics")


def emit(counts: dict[str, int], *, dimensions: dict[str, str]) -> None:
    document = {
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
    log.info(orjson.dumps(document).decode())
