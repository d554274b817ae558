"""The lean DynamoDB client against the emulator over HTTP: the same writes and the same
errors as a boto3 client (common/json_api.py)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from email.message import Message
from typing import Any, ClassVar

import pytest
from botocore.exceptions import ChecksumError, ClientError, HTTPClientError

from common import aws, tables
from common.settings import Settings
from stockpipe.provision import Resources


def item(tick_id: str) -> dict[str, Any]:
    return tables.encode_tick_item(
        tables.TickItem("AAPL", tick_id, 1_764_000_000_000, 101.25, 7, "test"),
        dt="2025-11-24",
        ingest_lag_ms=3,
        expires_at_s=1_764_600_000,
        change=0.25,
        change_pct=0.2,
    )


def test_batch_write_item_stores_what_boto3_reads_back(
    settings: Settings, resources: Resources
) -> None:
    writer = aws.dynamodb_writer()
    items = [item(f"t{i}") for i in range(25)]
    response = writer.batch_write_item(
        RequestItems={settings.ticks_table: [{"PutRequest": {"Item": i}} for i in items]}
    )
    assert response.get("UnprocessedItems", {}) == {}
    dynamodb = aws.client("dynamodb")
    for written in items:
        key = {k: written[k] for k in ("symbol", "sk")}
        got = dynamodb.get_item(TableName=settings.ticks_table, Key=key)["Item"]
        assert got == written


def test_a_refused_request_raises_client_error_with_the_services_code(
    settings: Settings, resources: Resources
) -> None:
    writer = aws.dynamodb_writer()
    with pytest.raises(ClientError) as refused:
        writer.batch_write_item(
            RequestItems={settings.ticks_table: [{"PutRequest": {"Item": {"x": {"S": "1"}}}}]}
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.value.operation_name == "BatchWriteItem"


def test_a_failed_condition_raises_conditional_check_failed(
    settings: Settings, resources: Resources
) -> None:
    writer = aws.dynamodb_writer()
    update = {
        "TableName": settings.ticks_table,
        "Key": tables.latest_quote_key("AAPL"),
        "UpdateExpression": "SET event_time_ms = :t",
        "ConditionExpression": "attribute_not_exists(event_time_ms) OR event_time_ms < :t",
        "ExpressionAttributeValues": {":t": {"N": "5"}},
    }
    writer.update_item(**update)
    with pytest.raises(ClientError) as failed:
        writer.update_item(**update)
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


class Canned(http.server.BaseHTTPRequestHandler):
    """Answers every POST with the class's status, headers and body."""

    status = 503
    headers_out: ClassVar[dict[str, str]] = {}
    body = b"<html>Service Unavailable</html>"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(self.status)
        for name, value in self.headers_out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def canned(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Canned]]:
    """A local endpoint whose answers the test sets; the writer is pointed at it."""
    handler = type("Handler", (Canned,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield handler
    server.shutdown()


def test_a_server_error_page_raises_client_error_with_the_status(canned: type[Canned]) -> None:
    with pytest.raises(ClientError) as failed:
        aws.dynamodb_writer().batch_write_item(RequestItems={})
    assert failed.value.response["Error"]["Code"] == "503"
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_a_body_that_does_not_match_its_crc32_raises_checksum_error(
    canned: type[Canned],
) -> None:
    canned.status, canned.body = 200, b"{}"
    canned.headers_out = {"x-amz-crc32": "12345"}
    with pytest.raises(ChecksumError):
        aws.dynamodb_writer().batch_write_item(RequestItems={})


def test_a_mangled_success_raises_a_botocore_error(canned: type[Canned]) -> None:
    canned.status, canned.body = 200, b"{not json"
    with pytest.raises(HTTPClientError):
        aws.dynamodb_writer().batch_write_item(RequestItems={})


def test_requests_carry_a_signature_v4_for_dynamodb(canned: type[Canned]) -> None:
    seen: list[Message] = []  # header names are case-insensitive, as in HTTP
    original = canned.do_POST

    def recording(handler: Canned) -> None:
        seen.append(handler.headers)
        original(handler)

    canned.do_POST = recording  # type: ignore[method-assign]
    canned.status, canned.body = 200, b"{}"
    assert aws.dynamodb_writer().update_item(TableName="t") == {}
    (headers,) = seen
    assert headers["X-Amz-Target"] == "DynamoDB_20120810.UpdateItem"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/dynamodb/aws4_request" in headers["Authorization"]


def test_an_error_shaped_as_dynamodb_sends_it_gives_the_bare_code(canned: type[Canned]) -> None:
    # as documented for DynamoDB's low-level API: a namespaced __type and a lower-case message
    message = "The level of configured provisioned throughput for the table was exceeded"
    code = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
    canned.status = 400
    canned.body = f'{{"__type":"{code}","message":"{message}"}}'.encode()
    canned.headers_out = {"x-amzn-RequestId": "R1"}
    with pytest.raises(ClientError) as failed:
        aws.dynamodb_writer().batch_write_item(RequestItems={})
    assert failed.value.response["Error"] == {
        "Code": "ProvisionedThroughputExceededException",
        "Message": message,
    }
    assert failed.value.response["ResponseMetadata"]["RequestId"] == "R1"


def test_get_records_answers_in_boto3s_shape(settings: Settings, resources: Resources) -> None:
    kinesis = aws.client("kinesis")
    kinesis.put_records(
        StreamName=settings.stream_name,
        Records=[{"Data": b'{"n": %d}' % i, "PartitionKey": "AAPL"} for i in range(5)],
    )
    shard = kinesis.list_shards(StreamName=settings.stream_name)["Shards"]
    iterators = [
        kinesis.get_shard_iterator(
            StreamName=settings.stream_name, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for s in shard
    ]
    reader = aws.kinesis_reader()
    for iterator in iterators:
        lean, boto = (
            reader.get_records(ShardIterator=iterator),
            kinesis.get_records(ShardIterator=iterator),
        )
        assert [
            (r["Data"], r["PartitionKey"], r["SequenceNumber"], r["ApproximateArrivalTimestamp"])
            for r in lean["Records"]
        ] == [
            (r["Data"], r["PartitionKey"], r["SequenceNumber"], r["ApproximateArrivalTimestamp"])
            for r in boto["Records"]
        ]
        assert lean["NextShardIterator"]
    assert sum(len(reader.get_records(ShardIterator=i)["Records"]) for i in iterators) == 5
