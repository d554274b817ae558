"""Daemon launcher pieces that need no Java: properties and exit codes."""

from __future__ import annotations

import signal

from common.settings import Settings
from consumer.daemon import exit_code, render_properties


def props(endpoint: str | None) -> dict[str, str]:
    text = render_properties(
        Settings(stream_name="s", consumer_application="app"),
        region="eu-west-1",
        endpoint=endpoint,
        worker_id="w1",
        python="/venv/bin/python",
    )
    return dict(line.split(" = ", 1) for line in text.splitlines())


def test_properties_for_real_aws_have_no_endpoints() -> None:
    p = props(None)
    assert p["executableName"] == "/venv/bin/python -m consumer.kcl_app"
    assert (p["streamName"], p["applicationName"], p["regionName"]) == ("s", "app", "eu-west-1")
    assert p["retrievalMode"] == "POLLING" and p["metricsLevel"] == "NONE"
    assert p["callProcessRecordsEvenForEmptyRecordList"] == "true"
    assert p["AwsCredentialsProvider"] == "DefaultCredentialsProvider"  # KCL 3: SDK v2 names
    assert not {"kinesisEndpoint", "dynamoDBEndpoint"} & p.keys()


def test_properties_for_the_emulator_point_every_client_at_it() -> None:
    p = props("http://127.0.0.1:5000")
    assert p["kinesisEndpoint"] == p["dynamoDBEndpoint"] == "http://127.0.0.1:5000"
    assert p["cloudWatchClient.endpointOverride"] == "http://127.0.0.1:5000"


def test_a_stop_we_forwarded_is_a_success_other_codes_pass_through() -> None:
    assert exit_code(143, [signal.SIGTERM]) == 0
    assert exit_code(130, [signal.SIGINT]) == 0
    assert exit_code(143, []) == 143
    assert exit_code(1, [signal.SIGTERM]) == 1
