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


_UNVALIDATED = _CONFIG.merge(Config(parameter_validation=False))


def client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    validate: bool = True,
) -> Any:
    """A boto3 client with standard retries; region None means the standard AWS chain.

    `validate=False` skips botocore's client-side parameter validation, for hot loops whose
    requests our own codecs build (the service still validates and rejects): it was ~60% of
    the consumer's boto3 CPU per BatchWriteItem (docs/performance.md)."""
    session = boto3.session.Session()
    config = _CONFIG if validate else _UNVALIDATED
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config)
