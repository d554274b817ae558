"""The stateful half: stream, history bucket, tables, alert topics, Glue catalog, Athena.

Kept apart from the compute stack so it can be deployed (and tested in the emulator's
CloudFormation) on its own, and so redeploying compute never touches data.
One customer-managed KMS key (rotated yearly) encrypts everything at rest.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from common import history_tables, layout, tables
from deploy.config import DeployConfig
from deploy.dashboard_access import add_dashboard_access
from deploy.suppressions import skip_checks

KEY_WAITING_DAYS = 30
NONCURRENT_VERSION_DAYS = 60
TRAIL_LOG_DAYS = 365
KEY_STATE_EVENTS = ("DisableKey", "ScheduleKeyDeletion")
ATHENA_SCAN_CUTOFF_BYTES = 10 * 1024**3
LEASE_OWNER_INDEX = "LeaseOwnerToLeaseKeyIndex"  # KCL 3 queries it by this name; docs/kcl.md
DEAD_LETTER_METRICS_ID = "DeadLetters"  # S3 request metrics filter: the dead-letter alarm reads it


class DataStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, config: DeployConfig, **kw: Any):
        super().__init__(scope, construct_id, **kw)
        self.config = config
        self.key = self._key()
        self.stream = self._stream()
        self.bucket = self._bucket()
        self.ticks_table = self._table(
            "TicksTable",
            partition=tables.PARTITION_KEY,
            sort=tables.SORT_KEY,
            stream=dynamodb.StreamViewType.NEW_IMAGE,
            ttl=tables.TTL_ATTRIBUTE,
        )
        self.state_table = self._table("TrendStateTable", partition="symbol")
        # the KCL application's lease table; its name is the application name (consumer env).
        # KCL 3 state made here so the consumer needs no CreateTable/UpdateTable: the lease
        # owner index, the coordinator state (leader lock, migration state) and worker metrics
        self.lease_table = self._table("ConsumerLeaseTable", partition="leaseKey")
        self.lease_owner_index = LEASE_OWNER_INDEX
        self.lease_table.add_global_secondary_index(
            index_name=LEASE_OWNER_INDEX,
            partition_key=dynamodb.Attribute(name="leaseOwner", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="leaseKey", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.coordinator_table = self._table("ConsumerCoordinatorStateTable", partition="key")
        self.worker_metrics_table = self._table("ConsumerWorkerMetricsTable", partition="wid")
        self.alerts_topic = self._topic("AlertsTopic", "stockpipe trend alerts")
        self.alarms_topic = self._topic("AlarmsTopic", "stockpipe operational alarms")
        self._subscribe()
        self.glue_database = self._glue()
        self.workgroup = self._athena()
        self.trail = self._data_event_trail() if config.data_event_trail else None
        self.key_watch = self._watch_key()
        self.dashboard_queue, self.dashboard_policy = add_dashboard_access(self)
        self._outputs()

    def _key(self) -> kms.Key:
        key = kms.Key(
            self,
            "DataKey",
            description="stockpipe: stream, bucket, tables, topics and logs at rest",
            enable_key_rotation=True,
            # kept on stack deletion and on replacement: the history (365 days) and table
            # backups (35 days) outlive any stack; `stockpipe teardown` schedules its deletion
            pending_window=cdk.Duration.days(KEY_WAITING_DAYS),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # services that encrypt on their own behalf: CloudWatch Logs (log groups) and
        # CloudWatch alarms publishing to the encrypted alarm topic
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsUse",
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=["*"],  # in a key policy "*" is this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:*"
                        )
                    }
                },
            )
        )
        self._let_publish_to_alarms(
            key, "CloudWatchAlarmsPublish", "cloudwatch", f"{self._arn('cloudwatch')}:alarm:*"
        )
        return key

    def _private_bucket(self, construct_id: str, **options: Any) -> s3.Bucket:
        """KMS-encrypted (one KMS call per bucket key, not per object), private, TLS-only,
        versioned, and kept on stack deletion and replacement: `stockpipe teardown` deletes
        it explicitly."""
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            **options,
        )

    def _data_event_trail(self) -> cloudtrail.Trail:
        """Every object call on the history bucket (the audit trail in place of access logs),
        plus write management events so EventBridge sees the key's state changes."""
        logs_bucket = self._private_bucket(
            "TrailBucket",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="TrailLogs",
                    expiration=cdk.Duration.days(TRAIL_LOG_DAYS),
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_VERSION_DAYS),
                )
            ],
        )
        skip_checks(
            logs_bucket,
            CKV_AWS_18="The trail's own log bucket: logging its access would need a third "
            "bucket; CloudTrail writes here with log file validation on.",
        )
        trail = cloudtrail.Trail(
            self,
            "DataEvents",
            bucket=logs_bucket,
            encryption_key=self.key,
            enable_file_validation=True,
            include_global_service_events=False,
            is_multi_region_trail=False,
            management_events=cloudtrail.ReadWriteType.WRITE_ONLY,
        )
        trail.add_s3_event_selector(
            [cloudtrail.S3EventSelector(bucket=self.bucket)],
            include_management_events=False,  # the write ones come from the trail's own
            read_write_type=cloudtrail.ReadWriteType.ALL,
        )
        skip_checks(
            trail,
            CKV_AWS_67="A trail for this stack's bucket in its own region; an account-wide "
            "multi-region trail is the account owner's, not one application's.",
        )
        return trail

    def _watch_key(self) -> events.Rule:
        """Disabling the key or scheduling its deletion makes every byte it encrypts
        unreadable: tell the alarm topic at once (CloudTrail management events)."""
        # named, so the key policy can name it without a reference (key -> rule -> topic -> key)
        name = f"{self.stack_name}-key-state-changes"
        rule = events.Rule(
            self,
            "KeyStateChanges",
            rule_name=name,
            description="stockpipe: the data key was disabled or scheduled for deletion",
            event_pattern=events.EventPattern(
                source=["aws.kms"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventSource": ["kms.amazonaws.com"],
                    "eventName": list(KEY_STATE_EVENTS),
                    "resources": {"ARN": [self.key.key_arn]},
                },
            ),
        )
        rule.add_target(targets.SnsTopic(self.alarms_topic))
        self._let_publish_to_alarms(
            self.key, "EventBridgeAlarmsPublish", "events", f"{self._arn('events')}:rule/{name}"
        )
        return rule

    def _arn(self, service: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}"

    @staticmethod
    def _let_publish_to_alarms(key: kms.Key, sid: str, service: str, source_arn: str) -> None:
        """A service that publishes to the encrypted alarm topic on its own behalf: only for
        this account's resources of the given ARN (no confused deputy)."""
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(f"{service}.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy "*" is this key
                conditions={
                    "StringEquals": {"aws:SourceAccount": key.stack.account},
                    "ArnLike": {"aws:SourceArn": source_arn},
                },
            )
        )

    def _stream(self) -> kinesis.Stream:
        mode = kinesis.StreamMode.ON_DEMAND if self.config.on_demand else None
        return kinesis.Stream(
            self,
            "TickStream",
            shard_count=None if self.config.on_demand else self.config.shards,
            stream_mode=mode or kinesis.StreamMode.PROVISIONED,
            retention_period=cdk.Duration.hours(24),
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=self.key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )

    def _bucket(self) -> s3.Bucket:
        history = [cdk.Duration.days(self.config.history_days)] if self.config.history_days else []
        bucket = self._private_bucket(
            "HistoryBucket",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbortUploads", abort_incomplete_multipart_upload_after=cdk.Duration.days(1)
                ),
                # replays overwrite objects; a bad overwrite stays recoverable this long
                s3.LifecycleRule(
                    id="OldVersions",
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_VERSION_DAYS),
                ),
                *(
                    s3.LifecycleRule(id="TickHistory", prefix=layout.TICKS_PREFIX, expiration=days)
                    for days in history
                ),
                s3.LifecycleRule(
                    id="DeadLetters",
                    prefix=layout.DEAD_LETTER_PREFIX,
                    expiration=cdk.Duration.days(90),
                ),
                s3.LifecycleRule(
                    id="AthenaResults",
                    prefix=layout.ATHENA_RESULTS_PREFIX,
                    expiration=cdk.Duration.days(7),
                ),
            ],
            metrics=[s3.BucketMetrics(id=DEAD_LETTER_METRICS_ID, prefix=layout.DEAD_LETTER_PREFIX)],
        )
        trail = (
            "the DataEvents trail of this stack records every object call"
            if self.config.data_event_trail
            else "with -c dataEventTrail=false the account must have a CloudTrail trail "
            "recording S3 data events for this bucket (docs/deploy.md, prerequisites)"
        )
        skip_checks(
            bucket,
            CKV_AWS_18=f"Access logs would need a second bucket; CloudTrail data events are the "
            f"audit trail for this private, KMS-encrypted bucket: {trail}.",
        )
        return bucket

    def _table(
        self,
        construct_id: str,
        *,
        partition: str,
        sort: str | None = None,
        stream: dynamodb.StreamViewType | None = None,
        ttl: str | None = None,
    ) -> dynamodb.Table:
        string = dynamodb.AttributeType.STRING
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition, type=string),
            sort_key=dynamodb.Attribute(name=sort, type=string) if sort else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=stream,
            time_to_live_attribute=ttl,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            # a delete or a replacement fails; `stockpipe teardown` lifts it, then deletes
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )

    def _topic(self, construct_id: str, display_name: str) -> sns.Topic:
        return sns.Topic(
            self,
            construct_id,
            display_name=display_name,
            master_key=self.key,
            enforce_ssl=True,
        )

    def _subscribe(self) -> None:
        """Email/SMS from context; the filter policy matches the alert's `symbol` attribute."""
        symbols = self.config.alert_symbols
        policy = {"symbol": sns.SubscriptionFilter.string_filter(allowlist=list(symbols))}
        filter_policy = policy if symbols else None
        for email in self.config.alert_emails:
            self.alerts_topic.add_subscription(
                subscriptions.EmailSubscription(email, filter_policy=filter_policy)
            )
        for number in self.config.alert_sms:
            self.alerts_topic.add_subscription(
                subscriptions.SmsSubscription(number, filter_policy=filter_policy)
            )
        if self.config.alarm_email:
            self.alarms_topic.add_subscription(
                subscriptions.EmailSubscription(self.config.alarm_email)
            )

    def _glue(self) -> glue.CfnDatabase:
        """The same TableInputs as the embedded stack (common/history_tables.py)."""
        database = glue.CfnDatabase(
            self,
            "HistoryDatabase",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=f"{self.config.name.replace('-', '_')}_history",
                description="stockpipe tick history (partition projection, no crawler)",
            ),
        )
        for table_input in history_tables.table_inputs(self.bucket.bucket_name):
            cdk.CfnResource(
                self,
                f"GlueTable{table_input['Name'].title().replace('_', '')}",
                type="AWS::Glue::Table",
                properties={
                    "CatalogId": self.account,
                    "DatabaseName": database.ref,
                    "TableInput": table_input,
                },
            )
        return database

    def _athena(self) -> athena.CfnWorkGroup:
        return athena.CfnWorkGroup(
            self,
            "HistoryWorkGroup",
            name=self.config.name,
            description="stockpipe history queries; per-query scan cutoff",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                bytes_scanned_cutoff_per_query=ATHENA_SCAN_CUTOFF_BYTES,
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=layout.athena_output(self.bucket.bucket_name),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.key.key_arn
                    ),
                ),
            ),
        )

    def _outputs(self) -> None:
        """What `stockpipe` commands and the guide read back (describe-stacks)."""
        outputs = {
            "StreamName": self.stream.stream_name,
            "BucketName": self.bucket.bucket_name,
            "TicksTableName": self.ticks_table.table_name,
            "TrendStateTableName": self.state_table.table_name,
            "ConsumerApplication": self.lease_table.table_name,
            "KclCoordinatorTableName": self.coordinator_table.table_name,
            "KclWorkerMetricsTableName": self.worker_metrics_table.table_name,
            "AlertsTopicArn": self.alerts_topic.topic_arn,
            "GlueDatabase": self.glue_database.ref,
            "AthenaWorkGroup": self.workgroup.ref,
            "DashboardQueueName": self.dashboard_queue.queue_name,
            "DashboardPolicyArn": self.dashboard_policy.managed_policy_arn,
        }
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)
