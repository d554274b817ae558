"""Lean clients for AWS JSON-protocol calls made thousands of times a minute.

botocore spends ~1.1 ms of CPU per call beyond the HTTP exchange itself (event hooks, endpoint
rules, serialising and parsing by walking the service model): with 25 items per
BatchWriteItem that was the consumer's largest cost per tick, and botocore's parsing of
GetRecords, record by record, came next (docs/performance.md). These clients send the very
request botocore would — the operation's documented JSON body (orjson), `X-Amz-Target`,
Signature V4 (common/sigv4.py, checked against botocore's) with the standard credential
chain — to the endpoint botocore resolves (so `AWS_ENDPOINT_URL` and real regions work), over
kept-alive connections (common/keepalive_http.py), and fail the way a boto3 client does:
ClientError with the service's error code and HTTP status, BotoCoreError for connection
failures and a bad response checksum. They never retry (beyond resending on a connection the
server closed while idle): callers do, through `common.retry`, with `transient` telling what
boto3 would have retried.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import orjson
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ChecksumError, ClientError, HTTPClientError

from common.keepalive_http import ConnectionPool, Response
from common.sigv4 import SigV4Signer


def transient(error: Exception, throttling: frozenset[str]) -> bool:
    """Whether a boto3 client's standard mode would have retried this: a connection or
    transport failure, one of the service's throttling codes, or a 5xx (the service failed,
    not the request)."""
    if isinstance(error, BotoCoreError):
        return True
    if not isinstance(error, ClientError):
        return False
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    return error.response["Error"]["Code"] in throttling or status >= 500


class JsonApiClient:
    """Signed JSON-protocol calls to one service endpoint; thread-safe (one pool per client)."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        signing_name: str,
        region: str,
        target_prefix: str,
        json_version: str,
        credentials: Credentials,
        connect_timeout_s: float = 5,
        read_timeout_s: float = 30,
        max_connections: int = 20,
    ) -> None:
        self._pool = ConnectionPool(
            endpoint_url,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_idle=max_connections,
        )
        self._signer = SigV4Signer(credentials, service=signing_name, region=region)
        self._target_prefix = target_prefix
        self._content_type = f"application/x-amz-json-{json_version}"

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One request; the parsed JSON response, or the exception boto3 would raise."""
        body = orjson.dumps(params)
        headers = self._signer.signed_headers(
            self._pool.host,
            self._pool.path,
            {
                "content-type": self._content_type,
                "x-amz-target": f"{self._target_prefix}.{operation}",
            },
            body,
        )
        response = self._pool.post(headers, body)
        _check_crc32(response)
        try:
            parsed = orjson.loads(response.data) if response.data else {}
        except orjson.JSONDecodeError as e:
            if response.status < 300:  # a mangled answer: retry like a broken connection
                raise HTTPClientError(error=e) from e
            parsed = {}  # e.g. a proxy's HTML error page: the status is the code
        if response.status >= 300:
            raise ClientError(_error_response(response, parsed), operation)
        return dict(parsed)


class DynamoDBWriter(JsonApiClient):
    """The DynamoDB writes of the consumer's hot path, named and shaped as on a boto3 client
    (low-level AttributeValue items), so the sink takes either."""

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        return self.call("BatchWriteItem", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self.call("UpdateItem", params)


class KinesisReader(JsonApiClient):
    """GetRecords answered in boto3's shape (`Data` as bytes, `ApproximateArrivalTimestamp`
    as an aware datetime) at a fraction of botocore's parsing cost per record."""

    def get_records(self, **params: Any) -> dict[str, Any]:
        page = self.call("GetRecords", params)
        for record in page["Records"]:
            record["Data"] = base64.b64decode(record["Data"])
            arrival = record.get("ApproximateArrivalTimestamp")
            if arrival is not None:
                record["ApproximateArrivalTimestamp"] = datetime.fromtimestamp(arrival, UTC)
        return page


def _check_crc32(response: Response) -> None:
    """DynamoDB sends the CRC32 of the body; botocore checks it, and so do we."""
    expected = response.headers.get("x-amz-crc32")
    if expected is None:
        return
    actual = binascii.crc32(response.data) & 0xFFFFFFFF
    if actual != int(expected):
        raise ChecksumError(
            checksum_type="crc32", expected_checksum=expected, actual_checksum=actual
        )


def _error_response(response: Response, parsed: Any) -> dict[str, Any]:
    """botocore's error shape: the code from `x-amzn-ErrorType` or `__type`, else the status."""
    body = parsed if isinstance(parsed, dict) else {}
    code = (response.headers.get("x-amzn-ErrorType") or body.get("__type") or "").split(":")[0]
    return {
        "Error": {
            "Code": code.rsplit("#", 1)[-1] or str(response.status),
            "Message": body.get("message") or body.get("Message") or "",
        },
        "ResponseMetadata": {
            "HTTPStatusCode": response.status,
            "RequestId": response.headers.get("x-amzn-RequestId", ""),
        },
    }
