"""Build the sink and processor from settings: shared by the KCL child and the local driver."""

from __future__ import annotations

from common import aws
from common.settings import ConsumerSettings
from consumer.processor import TickProcessor
from consumer.sinks import AwsBatchSink, BatchSink, DynamoTicks, S3Objects


def make_sink(settings: ConsumerSettings) -> AwsBatchSink:
    return AwsBatchSink(
        S3Objects(aws.client("s3", region=settings.region), settings.bucket),
        DynamoTicks(aws.client("dynamodb", region=settings.region), settings.ticks_table),
        ttl_days=settings.ticks_ttl_days,
    )


def make_processor(settings: ConsumerSettings, sink: BatchSink | None = None) -> TickProcessor:
    return TickProcessor(
        sink or make_sink(settings),
        flush_records=settings.consumer_flush_records,
        flush_age_s=settings.consumer_flush_age_ms / 1000,
        max_future_skew_ms=settings.consumer_max_future_skew_ms,
    )
