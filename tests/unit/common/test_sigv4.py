"""The lean signer (common/sigv4.py) signs exactly as botocore's SigV4Auth does: every
header botocore would send, byte for byte, for any body, time, host and credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from common.sigv4 import SigV4Signer

TARGET = {"content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.X"}


def botocore_headers(
    credentials: Credentials,
    service: str,
    region: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """What botocore's signer adds to the same request at the same time (lower-case names)."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    request = AWSRequest("POST", url, data=body, headers=dict(headers))
    botocore.auth.SigV4Auth(credentials.get_frozen_credentials(), service, region).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}


def ours(
    credentials: Credentials,
    service: str,
    region: str,
    host: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
) -> dict[str, str]:
    signer = SigV4Signer(credentials, service=service, region=region, clock=lambda: now)
    signed = signer.signed_headers(host, path, headers, body)
    return {name: value for name, value in signed.items() if name != "host"}


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=4096),
    target=st.from_regex(r"[A-Za-z0-9_]{1,20}\.[A-Za-z]{1,20}", fullmatch=True),
    now=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    token=st.one_of(st.none(), st.text(alphabet="ABCDEFabcdef0123456789+/=", min_size=8)),
    port=st.one_of(st.none(), st.integers(1, 65535)),
)
def test_signatures_equal_botocores(
    body: bytes, target: str, now: datetime, token: str | None, port: int | None
) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    host = "dynamodb.eu-west-1.amazonaws.com" + (f":{port}" if port else "")
    headers = {**TARGET, "x-amz-target": target}
    with pytest.MonkeyPatch.context() as monkeypatch:
        expected = botocore_headers(
            credentials,
            "dynamodb",
            "eu-west-1",
            f"https://{host}/",
            headers,
            body,
            now,
            monkeypatch,
        )
    assert ours(credentials, "dynamodb", "eu-west-1", host, "/", headers, body, now) == expected


def test_a_path_and_another_service_sign_as_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = Credentials("AKID", "secret", None)
    now = datetime(2026, 11, 26, 8, 30, 5, tzinfo=UTC)
    expected = botocore_headers(
        credentials,
        "kinesis",
        "us-east-1",
        "http://127.0.0.1:4566/prefix/",
        TARGET,
        b"{}",
        now,
        monkeypatch,
    )
    got = ours(
        credentials, "kinesis", "us-east-1", "127.0.0.1:4566", "/prefix/", TARGET, b"{}", now
    )
    assert got == expected


def test_the_cached_key_follows_the_day_and_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = Credentials("AKID", "first-secret", None)
    clock = [datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC)]
    signer = SigV4Signer(
        credentials, service="dynamodb", region="us-east-1", clock=lambda: clock[0]
    )

    def check() -> None:
        got = signer.signed_headers("h.example", "/", TARGET, b"x")
        del got["host"]
        assert got == botocore_headers(
            credentials, "dynamodb", "us-east-1", "https://h.example/", TARGET, b"x", clock[0],
            monkeypatch,
        )  # fmt: skip

    check()
    clock[0] += timedelta(seconds=2)  # the next day: a new signing key
    check()
    credentials.secret_key = "rotated-secret"  # refreshed credentials: a new signing key
    check()
