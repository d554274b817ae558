"""Run the trend Lambda's code locally: its handler, fed by the local stream event source."""

from __future__ import annotations

from typing import Any

from common import aws
from common.settings import Settings
from lambdas.trend.handler import TrendProcessor
from stockpipe.stream_source import StreamEventSource


class TopicNotFound(LookupError):
    """The alerts topic does not exist in this account and region."""


def topic_arn(settings: Settings, sns: Any = None) -> str:
    """The alerts topic's ARN, looked up and never created.

    Provisioning (`stockpipe up`) or the deploy stack creates the topic; a lookup that
    created it would leave a stray topic in a real account when the settings point elsewhere.
    """
    if settings.alerts_topic_arn:
        return settings.alerts_topic_arn
    sns = sns or aws.client("sns", region=settings.region)
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == settings.alerts_topic:
                return str(topic["TopicArn"])
    raise TopicNotFound(
        f"the alerts topic {settings.alerts_topic!r} does not exist in "
        f"{sns.meta.region_name}: start `stockpipe up`, or deploy the stack and "
        'eval "$(stockpipe env)" (or set STOCKPIPE_ALERTS_TOPIC)'
    )


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
