"""The one place AWS clients are made.

boto3 reads `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` by itself, so the same code
talks to the emulator or to real AWS with no endpoint argument threaded through it.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=20,
)


def client(service: str, *, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 client with standard retries; region None means the standard AWS chain."""
    session = boto3.session.Session()
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=_CONFIG)
