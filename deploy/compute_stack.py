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
from aws_cdk import aws_dynamodb as dynamodb
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

TASK_SUBNETS = "tasks"
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
        produce = policies.produce(data.stream, data.key)
        consume = policies.consume(data)
        self.vpc = self._vpc([*produce, *consume])
        self.cluster = self._cluster()
        self.producer = self._service(
            "Producer",
            target="producer",
            cpu=256,
            memory=512,
            environment=config.environment("producer", **self._wired()),
            statements=produce,
            health_command="python3 -m producer.health",
            public=self._producer_public(),
        )
        self.consumer = self._service(
            "Consumer",
            target="consumer",
            cpu=config.consumer_cpu,
            memory=config.consumer_memory,
            environment=config.environment(
                "consumer",
                **self._wired(),
                bucket=data.bucket.bucket_name,
                ticks_table=data.ticks_table.table_name,
                consumer_application=data.lease_table.table_name,
                kcl_coordinator_table=data.coordinator_table.table_name,
                kcl_worker_metrics_table=data.worker_metrics_table.table_name,
            ),
            statements=consume,
            health_command="python3 -m consumer.health",
            stop_seconds=CONSUMER_STOP_SECONDS,
            public=config.network == "public",
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

    def _wired(self) -> dict[str, str]:
        """What every service's settings take from the stack, not from context."""
        return {
            "region": self.region,
            "log_format": "json",
            "stream_name": self.data.stream.stream_name,
        }

    def _producer_public(self) -> bool:
        """Yahoo Finance is on the internet: without NAT the producer needs a public IP."""
        network = self.config.network
        return network == "public" or (
            network == "endpoints" and self.config.producer_source == "yfinance"
        )

    def _cluster(self) -> ecs.Cluster:
        insights = self.config.container_insights
        cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=self.vpc,
            container_insights_v2=(
                ecs.ContainerInsights.ENABLED if insights else ecs.ContainerInsights.DISABLED
            ),
        )
        if not insights:
            skip_checks(
                cluster,
                CKV_AWS_65="Container Insights costs ~$7.50/month of custom metrics at this "
                "size; the dashboard and alarms read Kinesis, Lambda and SQS metrics instead. "
                "-c containerInsights=true turns it on.",
            )
        return cluster

    def _vpc(self, task_statements: list[iam.PolicyStatement]) -> ec2.Vpc:
        """No NAT gateway by default (the largest fixed cost of a small deployment): tasks sit
        in public subnets with public IPs, no inbound rule and HTTPS-only egress
        (network=public). network=endpoints puts the consumer in isolated subnets that reach
        AWS through interface endpoints; network=nat in private subnets behind NAT. S3 and
        DynamoDB always take free gateway endpoints whose policies let through only what
        the task roles may do on this stack's bucket and tables (plus ECR's image layers)."""
        network = self.config.network
        subnets = [ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)]
        if network != "public":
            kind = (
                ec2.SubnetType.PRIVATE_WITH_EGRESS
                if network == "nat"
                else ec2.SubnetType.PRIVATE_ISOLATED
            )
            subnets.append(ec2.SubnetConfiguration(name=TASK_SUBNETS, subnet_type=kind))
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=self.config.nat_gateways if network == "nat" else 0,
            subnet_configuration=subnets,
        )
        everywhere = [ec2.SubnetSelection(subnet_group_name=c.name) for c in subnets]
        gateways = {
            "S3": (ec2.GatewayVpcEndpointAwsService.S3, [self._ecr_layers()]),
            "DynamoDB": (ec2.GatewayVpcEndpointAwsService.DYNAMODB, []),
        }
        for name, (service, extra) in gateways.items():
            endpoint = vpc.add_gateway_endpoint(name, service=service, subnets=everywhere)
            for statement in [*policies.through_endpoint(task_statements, name), *extra]:
                endpoint.add_to_policy(statement)
        if network == "endpoints":
            self._interface_endpoints(vpc, task_statements)
        vpc.add_flow_log(
            "AllFlows" if self.config.all_flow_logs else "RejectedFlows",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self._log_group("FlowLogs")),
            traffic_type=(
                ec2.FlowLogTrafficType.ALL
                if self.config.all_flow_logs
                else ec2.FlowLogTrafficType.REJECT
            ),
        )
        return vpc

    def _ecr_layers(self) -> iam.PolicyStatement:
        """ECR serves image layers from its own S3 bucket, through the S3 gateway endpoint."""
        return iam.PolicyStatement(
            sid="EcrImageLayers",
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject"],
            resources=[f"arn:{self.partition}:s3:::prod-{self.region}-starport-layer-bucket/*"],
        )

    def _interface_endpoints(
        self, vpc: ec2.Vpc, task_statements: list[iam.PolicyStatement]
    ) -> None:
        """What the isolated tasks call besides S3 and DynamoDB: Kinesis (scoped like the
        gateways), ECR to pull their images and CloudWatch Logs for the awslogs driver. Placed
        in endpointAzs of the tasks' subnets: their private DNS names answer in the whole VPC,
        so one AZ serves tasks in both (for half the price, with that AZ as a dependency)."""
        tasks = vpc.select_subnets(subnet_group_name=TASK_SUBNETS).subnets
        placed = ec2.SubnetSelection(subnets=tasks[: self.config.endpoint_azs])
        # HTTPS in from the VPC (added by the endpoints), nothing out: an endpoint only answers
        group = ec2.SecurityGroup(
            self,
            "EndpointSecurity",
            vpc=vpc,
            description="stockpipe interface endpoints: HTTPS from the VPC only",
            allow_all_outbound=False,
        )
        services = {
            "Kinesis": ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
            "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
            "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
            "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        }
        endpoints = {
            name: vpc.add_interface_endpoint(
                name, service=service, subnets=placed, security_groups=[group]
            )
            for name, service in services.items()
        }
        for statement in policies.through_endpoint(task_statements, "Kinesis"):
            endpoints["Kinesis"].add_to_policy(statement)

    def _service(
        self,
        name: str,
        *,
        target: str,
        cpu: int,
        memory: int,
        environment: dict[str, str],
        statements: list[iam.PolicyStatement],
        health_command: str,
        public: bool,
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
                "TMPDIR": "/tmp",
                "XDG_CACHE_HOME": "/tmp/cache",
                **environment,
            },
            logging=ecs.LogDriver.aws_logs(
                stream_prefix=target, log_group=self._log_group(f"{name}Logs")
            ),
            readonly_root_filesystem=True,
            # Fargate takes no dockerSecurityOptions (no-new-privileges): with every
            # capability dropped and the images' setuid bits stripped nothing can gain one
            linux_parameters=self._no_capabilities(name),
            health_check=ecs.HealthCheck(
                command=["CMD-SHELL", health_command],
                interval=cdk.Duration.seconds(30),
                timeout=cdk.Duration.seconds(10),
                start_period=cdk.Duration.seconds(60),
            ),
            stop_timeout=cdk.Duration.seconds(stop_seconds) if stop_seconds else None,
        )
        container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False)
        )
        return ecs.FargateService(
            self,
            f"{name}Service",
            cluster=self.cluster,
            task_definition=task,
            desired_count=1,
            assign_public_ip=public,
            vpc_subnets=ec2.SubnetSelection(subnet_group_name="public" if public else TASK_SUBNETS),
            security_groups=[self._https_out_only(name)],
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
        )

    def _no_capabilities(self, name: str) -> ecs.LinuxParameters:
        linux = ecs.LinuxParameters(self, f"{name}Linux")
        linux.drop_capabilities(ecs.Capability.ALL)
        return linux

    def _https_out_only(self, name: str) -> ec2.SecurityGroup:
        """Nothing comes in; out, only HTTPS (AWS APIs, ECR, and Yahoo Finance)."""
        group = ec2.SecurityGroup(
            self,
            f"{name}Security",
            vpc=self.vpc,
            description=f"stockpipe {name.lower()}: no inbound, HTTPS outbound only",
            allow_all_outbound=False,
        )
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS and Yahoo")
        return group

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
            environment=self.config.environment(
                "trend",
                **self._wired(),
                trend_state_table=self.data.state_table.table_name,
                alerts_topic_arn=self.data.alerts_topic.topic_arn,
                trend_failure_queue_url=failures.queue_url,  # poison records, outbox overflow
            ),
            environment_encryption=self.data.key,
            tracing=lambda_.Tracing.ACTIVE if self.config.lambda_tracing else None,
            reserved_concurrent_executions=self.config.trend_reserved_concurrency or None,
        )
        function.add_event_source(
            sources.DynamoEventSource(
                # the table without its key: the event source would grant kms:Decrypt with
                # no condition; the role's own statement allows it through DynamoDB only
                dynamodb.Table.from_table_attributes(
                    self,
                    "TicksStream",
                    table_arn=self.data.ticks_table.table_arn,
                    table_stream_arn=self.data.ticks_table.table_stream_arn,
                ),
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=self.config.trend.trend_batch_size,
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
