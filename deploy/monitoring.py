"""Alarms (to the encrypted alarm topic) and one dashboard for the whole pipeline.

Each alarm watches a symptom a user would act on: consumers falling behind (stream iterator
age), bad input piling up (dead-letter objects), the trend Lambda failing or lagging, records
given up on (failure queue), and the producer being throttled (too few shards).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from deploy.data_stack import DEAD_LETTER_METRICS_ID, DataStack

FIVE_MINUTES = cdk.Duration.minutes(5)
LAG_ALARM_MS = 120_000


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DataStack,
        consumer: ecs.FargateService,
        trend: lambda_.IFunction,
        trend_failures: sqs.IQueue,
    ):
        super().__init__(scope, construct_id)
        stream = data.stream
        consumer_lag = stream.metric_get_records_iterator_age_milliseconds(
            statistic="Maximum", period=cdk.Duration.minutes(1)
        )
        dead_letters = cloudwatch.Metric(
            namespace="AWS/S3",
            metric_name="PutRequests",
            dimensions_map={
                "BucketName": data.bucket.bucket_name,
                "FilterId": DEAD_LETTER_METRICS_ID,
            },
            statistic="Sum",
            period=FIVE_MINUTES,
        )
        throttled = stream.metric_write_provisioned_throughput_exceeded(
            statistic="Sum", period=FIVE_MINUTES
        )
        trend_lag = trend.metric("IteratorAge", statistic="Maximum", period=cdk.Duration.minutes(1))
        alarm_specs: list[tuple[str, cloudwatch.IMetric, float, int, str]] = [
            ("ConsumerLag", consumer_lag, LAG_ALARM_MS, 5, "consumers are over 2 min behind"),
            ("DeadLetters", dead_letters, 0, 1, "malformed records reached the dead-letter store"),
            ("ProducerThrottled", throttled, 0, 3, "writes throttled: the stream needs shards"),
            ("TrendErrors", trend.metric_errors(period=FIVE_MINUTES), 0, 1, "trend Lambda errors"),
            ("TrendLag", trend_lag, LAG_ALARM_MS, 5, "the trend Lambda is over 2 min behind"),
            (
                "TrendFailedRecords",
                trend_failures.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES),
                0,
                1,
                "records the trend Lambda gave up on (see the failure queue)",
            ),
        ]
        action = actions.SnsAction(data.alarms_topic)
        self.alarms: list[cloudwatch.Alarm] = []
        for name, metric, threshold, periods, description in alarm_specs:
            alarm = cloudwatch.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold,
                evaluation_periods=periods,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"stockpipe: {description}",
            )
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            self.alarms.append(alarm)

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", default_interval=cdk.Duration.hours(3)
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Ticks in (Kinesis)",
                left=[
                    stream.metric_incoming_records(statistic="Sum", period=cdk.Duration.minutes(1))
                ],
                right=[throttled],
            ),
            cloudwatch.GraphWidget(title="Consumer lag (ms)", left=[consumer_lag]),
            cloudwatch.GraphWidget(
                title="Consumer tasks",
                left=[
                    cloudwatch.Metric(
                        namespace="ECS/ContainerInsights",
                        metric_name="RunningTaskCount",
                        dimensions_map={
                            "ClusterName": consumer.cluster.cluster_name,
                            "ServiceName": consumer.service_name,
                        },
                        statistic="Average",
                        period=cdk.Duration.minutes(1),
                    )
                ],
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Trend Lambda",
                left=[trend.metric_invocations(), trend.metric_errors()],
                right=[trend.metric_duration(statistic="p95")],
            ),
            cloudwatch.GraphWidget(title="Trend lag (ms)", left=[trend_lag]),
            cloudwatch.GraphWidget(
                title="Alerts published, dead letters",
                left=[data.alerts_topic.metric_number_of_messages_published()],
                right=[dead_letters.with_(label="dead-letter objects written")],
            ),
        )
