"""What the lean clients' callers retry (common/json_api.py `transient`): what a boto3
client's standard mode would have retried, and nothing else."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from common.json_api import transient

THROTTLING = frozenset({"ThrottlingException"})


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "BatchWriteItem",
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("ThrottlingException", 400), True),
        (client_error("InternalServerError", 500), True),
        (client_error("503", 503), True),
        (client_error("ValidationException", 400), False),
        (client_error("AccessDeniedException", 403), False),
        (client_error("499", 499), False),
        (EndpointConnectionError(endpoint_url="http://x"), True),
        (ReadTimeoutError(endpoint_url="http://x"), True),
        (ValueError("a bug, not the service"), False),
    ],
)
def test_transient_is_throttling_a_5xx_or_a_transport_failure(
    error: Exception, expected: bool
) -> None:
    assert transient(error, THROTTLING) is expected
