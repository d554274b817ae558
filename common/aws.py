"""The one place AWS clients are made.

boto3 reads `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` by itself, so the same code
talks to the emulator or to real AWS with no endpoint argument threaded through it.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

from common.json_api import DynamoDBWriter, JsonApiClient, KinesisReader

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=20,
)


@functools.cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def _session() -> boto3.session.Session:
    """A fresh session (credentials and configuration read now) whose service models come
    from one loader per process: parsing them again was ~70% of making a client."""
    core = botocore.session.Session()
    core.register_component("data_loader", _loader())
    return boto3.session.Session(botocore_session=core)


def client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """A boto3 client with standard retries; region None means the standard AWS chain."""
    session = _session()
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=_CONFIG)


def dynamodb_writer(*, region: str | None = None) -> DynamoDBWriter:
    """DynamoDB writes for hot loops (common/json_api.py)."""
    return _lean(DynamoDBWriter, "dynamodb", region)


def kinesis_reader(*, region: str | None = None) -> KinesisReader:
    """Kinesis GetRecords for the local driver's read loop (common/json_api.py)."""
    return _lean(KinesisReader, "kinesis", region)


_Lean = TypeVar("_Lean", bound=JsonApiClient)


def _lean(cls: type[_Lean], service: str, region: str | None) -> _Lean:
    """botocore resolves the endpoint, region and credentials once; the lean client signs and
    sends each request."""
    session = _session()
    resolver = session.client(service, region_name=region, config=_CONFIG)
    credentials = session.get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials found (environment, profile, or role)")
    model = resolver.meta.service_model
    return cls(
        resolver.meta.endpoint_url,
        signing_name=model.signing_name,
        region=resolver.meta.region_name,
        target_prefix=model.metadata["targetPrefix"],
        json_version=model.metadata["jsonVersion"],
        credentials=credentials,
        connect_timeout_s=_CONFIG.connect_timeout,
        read_timeout_s=_CONFIG.read_timeout,
        max_connections=_CONFIG.max_pool_connections,
    )
