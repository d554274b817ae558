"""Run the trend Lambda's code locally: its handler, fed by the local stream event source."""

from __future__ import annotations

from common import aws
from common.settings import Settings
from lambdas.trend.handler import HandlerSettings, TrendProcessor
from stockpipe.stream_source import StreamEventSource


def topic_arn(settings: Settings) -> str:
    """CreateTopic is idempotent: it returns the ARN of the existing topic."""
    sns = aws.client("sns", region=settings.region)
    return str(sns.create_topic(Name=settings.alerts_topic)["TopicArn"])


def trend_event_source(settings: Settings) -> StreamEventSource:
    dynamodb = aws.client("dynamodb", region=settings.region)
    sns = aws.client("sns", region=settings.region)
    streams = aws.client("dynamodbstreams", region=settings.region)
    stream_arn = dynamodb.describe_table(TableName=settings.ticks_table)["Table"]["LatestStreamArn"]
    handler_settings = HandlerSettings.from_env(
        {**settings.to_env(), "STOCKPIPE_ALERTS_TOPIC_ARN": topic_arn(settings)}
    )
    processor = TrendProcessor(handler_settings, dynamodb, sns)
    return StreamEventSource(
        streams,
        stream_arn,
        lambda event, _ctx: processor.process(event),
        region=streams.meta.region_name,
        batch_size=settings.trend_batch_size,
    )
