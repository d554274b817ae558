"""Container health check: healthy while the producer's stream answers and is writable.

The producer is the container's main process, so "running" says nothing; what fails in
practice is the path to Kinesis (credentials, network, the stream deleted or resharding
stuck). One DescribeStreamSummary per check, the call the producer's role already has.
"""

from __future__ import annotations

import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from common import aws
from common.settings import ProducerSettings

WRITABLE = ("ACTIVE", "UPDATING")


def stream_writable(stream: str, kinesis: Any) -> bool:
    try:
        summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    except (BotoCoreError, ClientError) as e:
        print(f"unhealthy: {stream}: {e}", file=sys.stderr)
        return False
    status = summary["StreamStatus"]
    if status not in WRITABLE:
        print(f"unhealthy: {stream} is {status}", file=sys.stderr)
    return status in WRITABLE


def main() -> int:
    settings = ProducerSettings()
    kinesis = aws.client("kinesis", region=settings.region)
    return 0 if stream_writable(settings.stream_name, kinesis) else 1


if __name__ == "__main__":
    sys.exit(main())
