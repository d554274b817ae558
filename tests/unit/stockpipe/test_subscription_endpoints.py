"""`stockpipe subscribe` checks the endpoint's form before SNS sees it."""

from __future__ import annotations

import pytest

from stockpipe.subscription_endpoints import InvalidEndpoint, check_endpoint


@pytest.mark.parametrize(
    ("protocol", "endpoint"),
    [
        ("email", "me@example.com"),
        ("email", "first.last+alerts@mail.example.co.uk"),
        ("sms", "+14155550100"),
        ("sms", "+447911123456"),
        ("https", "https://example.com/alerts?key=1"),
        ("sqs", "arn:aws:sqs:us-east-1:123456789012:my-queue"),
        ("sqs", "arn:aws:sqs:eu-west-3:123456789012:alerts.fifo"),
        ("lambda", "arn:aws:lambda:us-east-1:123456789012:function:notify"),
        ("lambda", "arn:aws:lambda:us-east-1:123456789012:function:notify:live"),
    ],
)
def test_well_formed_endpoints_pass(protocol: str, endpoint: str) -> None:
    check_endpoint(protocol, endpoint)


@pytest.mark.parametrize(
    ("protocol", "endpoint", "expected"),
    [
        ("email", "me@localhost", "an e-mail address"),
        ("email", "me example.com", "an e-mail address"),
        ("email", "me@example.com\nBcc: x@y.z", "an e-mail address"),
        ("sms", "0612345678", "E.164"),
        ("sms", "+0612345678", "E.164"),
        ("sms", "+1 415 555 0100", "E.164"),
        ("sms", "+1234567890123456", "E.164"),
        ("https", "http://example.com/alerts", "an https:// URL"),
        ("https", "https:///nohost", "an https:// URL"),
        ("https", "file:///etc/passwd", "an https:// URL"),
        ("sqs", "https://sqs.us-east-1.amazonaws.com/123456789012/q", "an SQS queue ARN"),
        ("sqs", "arn:aws:sns:us-east-1:123456789012:topic", "an SQS queue ARN"),
        ("lambda", "arn:aws:lambda:us-east-1:123456789012:notify", "a Lambda function ARN"),
        ("pigeon", "coo", "not one of email, sms, https, sqs, lambda"),
    ],
)
def test_malformed_endpoints_say_what_is_expected(
    protocol: str, endpoint: str, expected: str
) -> None:
    with pytest.raises(InvalidEndpoint) as raised:
        check_endpoint(protocol, endpoint)
    assert expected in str(raised.value)
