"""`publisher_for` without a client: it makes its own Kinesis client in the configured region
(the path `python -m producer` and `stockpipe produce` take), against the emulator."""

from __future__ import annotations

import orjson
import pytest

from common import aws
from common.settings import ProducerSettings
from producer.publisher import StreamNotFound, publisher_for
from stockpipe import stream_reader
from tests.factories import ticks


def test_publisher_for_publishes_to_the_stream_of_the_configured_region() -> None:
    # GIVEN a stream that exists only in eu-west-1 (the environment's default is us-east-1)
    kinesis = aws.client("kinesis", region="eu-west-1")
    kinesis.create_stream(StreamName="eu-ticks", ShardCount=1)
    # WHEN the producer's publisher is made from settings alone
    batch = ticks(3)
    publisher = publisher_for(ProducerSettings(region="eu-west-1", stream_name="eu-ticks"))
    for tick in batch:
        publisher.send(tick)
    assert publisher.close().sent == 3
    # THEN the ticks are in that stream
    positions = stream_reader.iterators(kinesis, "eu-ticks")
    assert [orjson.loads(d)["id"] for d in stream_reader.drain(kinesis, positions)] == [
        t.id for t in batch
    ]
    # AND the default region does not have it: the region setting is what found it
    with pytest.raises(StreamNotFound):
        publisher_for(ProducerSettings(stream_name="eu-ticks"))
