"""Build the sink and processor from settings: shared by the KCL child and the local driver."""

from __future__ import annotations

import gc
from collections.abc import Callable

from common import aws
from common.settings import ConsumerSettings
from consumer.processor import TickProcessor
from consumer.sinks import AwsBatchSink, BatchSink, DynamoTicks, S3Objects


def make_sink(settings: ConsumerSettings) -> AwsBatchSink:
    """One sink (two clients) serves every shard of a process: a client costs ~0.2 CPU-s to
    make. DynamoDB writes, ~one call per 25 ticks, go through the lean JSON client
    (common/json_api.py): botocore's per-call CPU was most of the consumer's."""
    return AwsBatchSink(
        S3Objects(aws.client("s3", region=settings.region), settings.bucket),
        DynamoTicks(aws.dynamodb_writer(region=settings.region), settings.ticks_table),
        ttl_days=settings.ticks_ttl_days,
    )


def processor_factory(settings: ConsumerSettings) -> Callable[[], TickProcessor]:
    """Processors for every shard of one process (the local driver), sharing one sink."""
    sink = make_sink(settings)
    return lambda: make_processor(settings, sink)


def make_processor(settings: ConsumerSettings, sink: BatchSink | None = None) -> TickProcessor:
    return TickProcessor(
        sink or make_sink(settings),
        cold_max_bytes=settings.consumer_cold_max_bytes,
        cold_age_s=settings.consumer_cold_age_ms / 1000,
        max_future_skew_ms=settings.consumer_max_future_skew_ms,
    )


def settle_heap() -> None:
    """Once a consumer process is set up (imports, clients, processors): move every object
    it holds to the collector's permanent generation (`gc.freeze`). They live as long as the
    process, and the cyclic collector rescanned them all (~120k: service models, polars)
    every few thousand allocations, most of the cost of building DynamoDB items
    (docs/performance.md).
    """
    gc.freeze()
