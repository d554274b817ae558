"""The one place AWS clients are made.

boto3 reads `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` by itself, so the same code
talks to the emulator or to real AWS with no endpoint argument threaded through it.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from common.json_api import DynamoDBWriter

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=20,
)


def client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """A boto3 client with standard retries; region None means the standard AWS chain."""
    session = boto3.session.Session()
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=_CONFIG)


def dynamodb_writer(*, region: str | None = None) -> DynamoDBWriter:
    """DynamoDB writes for hot loops (common/json_api.py): botocore resolves the endpoint,
    region and credentials once, our lean client signs and sends each request."""
    session = boto3.session.Session()
    resolver = session.client("dynamodb", region_name=region, config=_CONFIG)
    credentials = session.get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials found (environment, profile, or role)")
    return DynamoDBWriter(
        resolver.meta.endpoint_url,
        signing_name=resolver.meta.service_model.signing_name,
        region=resolver.meta.region_name,
        target_prefix=resolver.meta.service_model.metadata["targetPrefix"],
        json_version=resolver.meta.service_model.metadata["jsonVersion"],
        credentials=credentials,
        connect_timeout_s=_CONFIG.connect_timeout,
        read_timeout_s=_CONFIG.read_timeout,
        max_connections=_CONFIG.max_pool_connections,
    )
