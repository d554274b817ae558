"""Run the trend Lambda's code locally: its handler, fed by the local stream event source."""

from __future__ import annotations

from typing import Any

from common import aws
from common.settings import Settings
from lambdas.trend.handler import TrendProcessor
from stockpipe.stream_source import StreamEventSource


def topic_arn(settings: Settings) -> str:
    """CreateTopic is idempotent: it returns the ARN of the existing topic."""
    sns = aws.client("sns", region=settings.region)
    return str(sns.create_topic(Name=settings.alerts_topic)["TopicArn"])


def trend_event_source(settings: Settings) -> StreamEventSource:
    dynamodb = aws.client("dynamodb", region=settings.region)
    stream_arn = dynamodb.describe_table(TableName=settings.ticks_table)["Table"]["LatestStreamArn"]
    return handler_on_stream(
        settings,
        topic_arn(settings),
        stream_arn,
        dynamodb=dynamodb,
        sns=aws.client("sns", region=settings.region),
        streams=aws.client("dynamodbstreams", region=settings.region),
    )


def handler_on_stream(
    settings: Settings, topic: str, stream_arn: str, *, dynamodb: Any, sns: Any, streams: Any
) -> StreamEventSource:
    """The handler's work fed by `stream_arn`, with the clients given (the function's role)."""
    processor = TrendProcessor(
        settings.model_copy(update={"alerts_topic_arn": topic}), dynamodb, sns
    )
    return StreamEventSource(
        streams,
        stream_arn,
        lambda event, _ctx: processor.process(event),
        region=streams.meta.region_name,
        batch_size=settings.trend_batch_size,
    )
