"""Check an alert subscriber's endpoint before SNS sees it, with an error that says why.

SNS accepts many malformed endpoints and fails later (or never delivers); a user typing
`stockpipe subscribe sms 0612` deserves to hear at once what an E.164 number looks like.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
ARN = r"arn:aws[a-z-]*:{service}:[a-z]{{2}}(-[a-z]+)+-[0-9]:[0-9]{{12}}:"
SQS_ARN = re.compile(ARN.format(service="sqs") + r"[A-Za-z0-9_-]{1,80}(\.fifo)?")
LAMBDA_ARN = re.compile(
    ARN.format(service="lambda") + r"function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?"
)


class InvalidEndpoint(ValueError):
    """The endpoint does not fit its protocol; the message shows the expected form."""


def _https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname) and not any(c.isspace() for c in url)


CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "email": (lambda e: EMAIL.fullmatch(e) is not None, "an e-mail address, e.g. me@example.com"),
    "sms": (
        lambda e: E164.fullmatch(e) is not None,
        "an E.164 phone number: + country code and number, digits only, e.g. +14155550100",
    ),
    "https": (_https, "an https:// URL, e.g. https://example.com/alerts"),
    "sqs": (
        lambda e: SQS_ARN.fullmatch(e) is not None,
        "an SQS queue ARN, e.g. arn:aws:sqs:us-east-1:123456789012:my-queue",
    ),
    "lambda": (
        lambda e: LAMBDA_ARN.fullmatch(e) is not None,
        "a Lambda function ARN, e.g. arn:aws:lambda:us-east-1:123456789012:function:my-fn",
    ),
}


def check_endpoint(protocol: str, endpoint: str) -> None:
    """Raise InvalidEndpoint unless `endpoint` has the form `protocol` needs."""
    if protocol not in CHECKS:
        raise InvalidEndpoint(f"protocol {protocol!r} is not one of {', '.join(CHECKS)}")
    valid, expected = CHECKS[protocol]
    if not valid(endpoint):
        raise InvalidEndpoint(f"{protocol} endpoint {endpoint!r} is not {expected}")
