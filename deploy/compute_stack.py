"""The stateless half: VPC, ECS Fargate producer and KCL consumers, the trend Lambda.

Images come from docker/Dockerfile (one target per service); `cdk deploy` builds and pushes
them, `cdk synth` only hashes the build context. The consumer's task count is capped at the
shard count: each shard is leased by exactly one KCL worker, so more tasks would idle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from deploy import policies
from deploy.config import DeployConfig
from deploy.data_stack import DataStack
from deploy.failure_queue import KeyedQueueDestination
from deploy.monitoring import Monitoring
from deploy.suppressions import skip_checks, skip_lint

REPO_ROOT = Path(__file__).resolve().parent.parent
# what the build context hashes: the host-made wheelhouse is a CI-only offline aid
ASSET_EXCLUDES = ["docker/wheelhouse/*.whl", "docker/wheelhouse/*.tar.gz"]
CONSUMER_STOP_SECONDS = 30  # KCL shutdownGraceMillis (10 s) + flush + checkpoint, with margin
ITERATOR_AGE_SCALE_OUT_MS = 60_000
ITERATOR_AGE_SCALE_IN_MS = 5_000
R = logs.RetentionDays
RETENTION = {
    1: R.ONE_DAY, 3: R.THREE_DAYS, 5: R.FIVE_DAYS, 7: R.ONE_WEEK, 14: R.TWO_WEEKS,
    30: R.ONE_MONTH, 60: R.TWO_MONTHS, 90: R.THREE_MONTHS, 120: R.FOUR_MONTHS,
    150: R.FIVE_MONTHS, 180: R.SIX_MONTHS, 365: R.ONE_YEAR, 400: R.THIRTEEN_MONTHS,
    545: R.EIGHTEEN_MONTHS, 731: R.TWO_YEARS,
}  # fmt: skip


class ComputeStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, config: DeployConfig, data: DataStack, **kw: Any
    ):
        super().__init__(scope, construct_id, **kw)
        self.config = config
        self.data = data
        self.vpc = self._vpc()
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.producer = self._service(
            "Producer",
            target="producer",
            cpu=256,
            memory=512,
            environment={
                "STOCKPIPE_SOURCE": config.producer_source,
                "STOCKPIPE_SYMBOLS": ",".join(config.symbols),
            },
            statements=policies.produce(data.stream, data.key),
        )
        self.consumer = self._service(
            "Consumer",
            target="consumer",
            cpu=512,
            memory=1024,
            environment={
                "STOCKPIPE_BUCKET": data.bucket.bucket_name,
                "STOCKPIPE_TICKS_TABLE": data.ticks_table.table_name,
                "STOCKPIPE_CONSUMER_APPLICATION": data.lease_table.table_name,
                "STOCKPIPE_TICKS_TTL_DAYS": str(config.ticks_ttl_days),
            },
            statements=policies.consume(
                data.stream, data.lease_table, data.ticks_table, data.bucket, data.key
            ),
            health_command="python3 -m consumer.health",
            stop_seconds=CONSUMER_STOP_SECONDS,
        )
        self.consumer_scaling = self._scale_consumers()
        self.trend_function, self.trend_failures = self._trend()
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            data=data,
            consumer=self.consumer,
            trend=self.trend_function,
            trend_failures=self.trend_failures,
        )
        cdk.CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        cdk.CfnOutput(self, "ConsumerServiceName", value=self.consumer.service_name)
        cdk.CfnOutput(self, "ProducerServiceName", value=self.producer.service_name)
        cdk.CfnOutput(self, "TrendFunctionName", value=self.trend_function.function_name)

    def _log_group(self, construct_id: str) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            construct_id,
            retention=RETENTION[self.config.log_retention_days],
            encryption_key=self.data.key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )

    def _vpc(self) -> ec2.Vpc:
        """Tasks sit in private subnets behind NAT (Yahoo Finance is on the internet); S3 and
        DynamoDB traffic takes free gateway endpoints instead of NAT. natGateways=0 puts the
        tasks in public subnets with public IPs and no inbound rules (cheaper, see the guide)."""
        private = self.config.nat_gateways > 0
        subnets = [ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)]
        if private:
            subnets.append(
                ec2.SubnetConfiguration(
                    name="tasks", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                )
            )
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=self.config.nat_gateways,
            subnet_configuration=subnets,
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDB": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
                ),
            },
        )
        vpc.add_flow_log(
            "RejectedFlows",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self._log_group("FlowLogs")),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        return vpc

    def _service(
        self,
        name: str,
        *,
        target: str,
        cpu: int,
        memory: int,
        environment: dict[str, str],
        statements: list[iam.PolicyStatement],
        health_command: str | None = None,
        stop_seconds: int | None = None,
    ) -> ecs.FargateService:
        role = iam.Role(
            self,
            f"{name}TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description=f"stockpipe {target}: only the calls its code makes",
        )
        for s in statements:
            role.add_to_policy(s)
        task = ecs.FargateTaskDefinition(
            self,
            f"{name}Task",
            cpu=cpu,
            memory_limit_mib=memory,
            task_role=role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        # read-only root file system; /tmp is the task's scratch space (KCL properties, JVM)
        task.add_volume(name="tmp")
        container = task.add_container(
            target,
            image=ecs.ContainerImage.from_asset(
                str(REPO_ROOT),
                file="docker/Dockerfile",
                target=target,
                platform=ecr_assets.Platform.LINUX_AMD64,
                exclude=ASSET_EXCLUDES,
            ),
            environment={
                "STOCKPIPE_REGION": self.region,
                "STOCKPIPE_STREAM_NAME": self.data.stream.stream_name,
                "STOCKPIPE_LOG_FORMAT": "json",
                "TMPDIR": "/tmp",
                "XDG_CACHE_HOME": "/tmp/cache",
                **environment,
            },
            logging=ecs.LogDriver.aws_logs(
                stream_prefix=target, log_group=self._log_group(f"{name}Logs")
            ),
            readonly_root_filesystem=True,
            health_check=(
                ecs.HealthCheck(
                    command=["CMD-SHELL", health_command],
                    interval=cdk.Duration.seconds(30),
                    start_period=cdk.Duration.seconds(60),
                )
                if health_command
                else None
            ),
            stop_timeout=cdk.Duration.seconds(stop_seconds) if stop_seconds else None,
        )
        container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False)
        )
        private = self.config.nat_gateways > 0
        return ecs.FargateService(
            self,
            f"{name}Service",
            cluster=self.cluster,
            task_definition=task,
            desired_count=1,
            assign_public_ip=not private,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=(
                    ec2.SubnetType.PRIVATE_WITH_EGRESS if private else ec2.SubnetType.PUBLIC
                )
            ),
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
        )

    def _scale_consumers(self) -> ecs.ScalableTaskCount:
        """Lag drives the count (stream iterator age), capped at the shard count."""
        scaling = self.consumer.auto_scale_task_count(
            min_capacity=1, max_capacity=self.config.consumer_cap
        )
        scaling.scale_on_metric(
            "ScaleOnIteratorAge",
            metric=self.data.stream.metric_get_records_iterator_age_milliseconds(
                statistic="Maximum", period=cdk.Duration.minutes(1)
            ),
            scaling_steps=[
                appscaling.ScalingInterval(upper=ITERATOR_AGE_SCALE_IN_MS, change=-1),
                appscaling.ScalingInterval(lower=ITERATOR_AGE_SCALE_OUT_MS, change=+1),
                appscaling.ScalingInterval(lower=5 * ITERATOR_AGE_SCALE_OUT_MS, change=+2),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=cdk.Duration.minutes(3),
        )
        return scaling

    def _trend(self) -> tuple[lambda_.DockerImageFunction, sqs.Queue]:
        """DynamoDB stream → trend handler: INSERTs only, per-record failures, bisect on
        error, and records that still fail go to an SQS queue instead of blocking the shard."""
        log_group = self._log_group("TrendLogs")
        role = iam.Role(
            self,
            "TrendRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="stockpipe trend Lambda: only the calls its code makes",
        )
        for s in [
            *policies.trend(self.data.state_table, self.data.alerts_topic, self.data.key),
            policies.write_logs(log_group.log_group_arn),
        ]:
            role.add_to_policy(s)
        failures = sqs.Queue(
            self,
            "TrendFailures",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.data.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        function = lambda_.DockerImageFunction(
            self,
            "TrendFunction",
            code=lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT),
                file="docker/Dockerfile",
                target="trend-lambda",
                platform=ecr_assets.Platform.LINUX_AMD64,
                exclude=ASSET_EXCLUDES,
            ),
            description="stockpipe: SMA crossovers and indicators from the ticks stream",
            memory_size=256,
            timeout=cdk.Duration.seconds(60),
            role=role,
            log_group=log_group,
            environment={
                "STOCKPIPE_TREND_STATE_TABLE": self.data.state_table.table_name,
                "STOCKPIPE_ALERTS_TOPIC_ARN": self.data.alerts_topic.topic_arn,
                "STOCKPIPE_TREND_BAR": self.config.trend_bar,
                "STOCKPIPE_LOG_FORMAT": "json",
            },
            environment_encryption=self.data.key,
            tracing=lambda_.Tracing.ACTIVE if self.config.lambda_tracing else None,
            reserved_concurrent_executions=self.config.trend_reserved_concurrency or None,
        )
        function.add_event_source(
            sources.DynamoEventSource(
                self.data.ticks_table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=self.config.trend_batch_size,
                max_batching_window=cdk.Duration.seconds(0),  # latency: docs/trend.md
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                retry_attempts=5,
                on_failure=KeyedQueueDestination(failures, self.data.key),
                filters=[
                    lambda_.FilterCriteria.filter(
                        {"eventName": lambda_.FilterRule.is_equal("INSERT")}
                    )
                ],
            )
        )
        unreserved = (
            {
                "CKV_AWS_115": "Unreserved by default: a stream event source runs one batch "
                "per stream shard at a time, and reserving fails on new accounts "
                "(concurrency quota 10-50); -c trendReservedConcurrency=N reserves."
            }
            if not self.config.trend_reserved_concurrency
            else {}
        )
        skip_checks(
            function,
            **unreserved,
            CKV_AWS_116="Stream-triggered: failed records go to the event source's on-failure "
            "queue (TrendFailures); a function DLQ only serves asynchronous invocations.",
            CKV_AWS_117="Talks only to DynamoDB, SNS and CloudWatch over AWS endpoints; a VPC "
            "would add NAT or interface endpoints for no isolation gain.",
        )
        skip_lint(
            function,
            W3005="CDK makes the function depend on its role and the role's policy so the "
            "policy exists before the event source mapping; the role half is redundant.",
        )
        return function, failures
