"""GIVEN the CDK app WHEN synthesized THEN the templates hold what the deploy guide promises:
encryption everywhere, least-privilege roles, the consumer capped at the shard count, the
trend Lambda's stream wiring, the Glue tables the code uses, alarms and a dashboard."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from common import history_tables, tables
from common.settings import Settings
from tests.unit.deploy.conftest import Synth

# actions AWS cannot scope to a resource; everything else must name one
UNSCOPED_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "dynamodb:ListStreams",
}


def resources(template: Any, kind: str) -> dict[str, dict[str, Any]]:
    return dict(template.find_resources(kind))


def only(template: Any, kind: str) -> dict[str, Any]:
    found = list(resources(template, kind).values())
    assert len(found) == 1, f"{len(found)} {kind}"
    return dict(found[0]["Properties"])


def statements(template: Any) -> list[tuple[str, dict[str, Any]]]:
    """(policy logical id, statement) for every identity policy in the template."""
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for logical_id, policy in resources(template, kind).items():
            for s in policy["Properties"]["PolicyDocument"]["Statement"]:
                found.append((logical_id, s))
    for logical_id, role in resources(template, "AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role["Properties"], f"{logical_id}: managed policy"
        for inline in role["Properties"].get("Policies", []):
            found += [(logical_id, s) for s in inline["PolicyDocument"]["Statement"]]
    return found


def named(template: Any, kind: str, prefix: str) -> dict[str, Any]:
    """The one resource of `kind` whose logical id starts with `prefix`."""
    found = [r for i, r in resources(template, kind).items() if i.startswith(prefix)]
    assert len(found) == 1, f"{len(found)} {kind} {prefix}*"
    return dict(found[0])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_stream_is_provisioned_with_the_context_shard_count_and_kms_encrypted(
    synth: Synth,
) -> None:
    data, _ = synth(shards=3)
    stream = only(data, "AWS::Kinesis::Stream")
    assert stream["ShardCount"] == 3
    assert stream["StreamEncryption"]["EncryptionType"] == "KMS"
    assert stream["RetentionPeriodHours"] == 24


def test_on_demand_stream_has_no_shard_count_and_consumers_cap_at_max_consumers(
    synth: Synth,
) -> None:
    data, compute = synth(shards=0, maxConsumers=6)
    stream = only(data, "AWS::Kinesis::Stream")
    assert stream["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert "ShardCount" not in stream
    target = only(compute, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 6)


def test_consumer_task_count_is_capped_at_the_shard_count_and_follows_lag(synth: Synth) -> None:
    _, compute = synth(shards=4)
    target = only(compute, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    policies = resources(compute, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert len(policies) == 2  # scale out and scale in, both on the same metric
    scaling_metrics = {
        a["Properties"]["MetricName"]
        for a in resources(compute, "AWS::CloudWatch::Alarm").values()
        if any(action.get("Ref") in policies for action in a["Properties"]["AlarmActions"])
    }
    assert scaling_metrics == {"GetRecords.IteratorAgeMilliseconds"}


def test_bucket_is_private_kms_encrypted_tls_only_versioned_with_lifecycle(synth: Synth) -> None:
    data, _ = synth()
    bucket = named(data, "AWS::S3::Bucket", "HistoryBucket")["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["BucketKeyEnabled"] is True
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    lifecycle = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert lifecycle["TickHistory"]["Prefix"] == "ticks/"
    assert lifecycle["TickHistory"]["ExpirationInDays"] == 365
    assert {"AbortUploads", "OldVersions", "DeadLetters", "AthenaResults"} <= set(lifecycle)
    policy = named(data, "AWS::S3::BucketPolicy", "HistoryBucketPolicy")["Properties"]
    policy = policy["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy
    )


def test_ticks_table_matches_the_code_contract(synth: Synth) -> None:
    data, _ = synth(ticksTtlDays=3)
    data.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": tables.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": tables.SORT_KEY, "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "TimeToLiveSpecification": {"AttributeName": tables.TTL_ATTRIBUTE, "Enabled": True},
        },
    )


def test_every_table_has_pitr_and_customer_managed_encryption(synth: Synth) -> None:
    data, _ = synth()
    found = resources(data, "AWS::DynamoDB::Table")
    assert len(found) == 5  # ticks, trend state, KCL leases, coordinator state, worker metrics
    for table in found.values():
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        sse = props["SSESpecification"]
        assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS"
        assert "KMSMasterKeyId" in sse


def test_kcl_3_tables_have_the_kcl_schemas_and_reach_the_consumer_by_name(
    synth: Synth,
) -> None:
    data, compute = synth()
    data.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "leaseKey", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "LeaseOwnerToLeaseKeyIndex",
                    "KeySchema": [
                        {"AttributeName": "leaseOwner", "KeyType": "HASH"},
                        {"AttributeName": "leaseKey", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        },
    )
    for key in ("key", "wid"):  # coordinator state, worker metrics
        data.has_resource_properties(
            "AWS::DynamoDB::Table", {"KeySchema": [{"AttributeName": key, "KeyType": "HASH"}]}
        )
    for variable in ("STOCKPIPE_KCL_COORDINATOR_TABLE", "STOCKPIPE_KCL_WORKER_METRICS_TABLE"):
        compute.has_resource_properties(
            "AWS::ECS::TaskDefinition",
            {
                "ContainerDefinitions": [
                    Match.object_like(
                        {
                            "Environment": Match.array_with(
                                [{"Name": variable, "Value": Match.any_value()}]
                            )
                        }
                    )
                ]
            },
        )
    compute.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "Environment": Match.array_with(
                            [{"Name": "STOCKPIPE_CONSUMER_APPLICATION", "Value": Match.any_value()}]
                        )
                    }
                )
            ]
        },
    )


def test_key_rotates_and_topics_and_logs_use_it(synth: Synth) -> None:
    data, compute = synth()
    assert only(data, "AWS::KMS::Key")["EnableKeyRotation"] is True
    for topic in resources(data, "AWS::SNS::Topic").values():
        assert "KmsMasterKeyId" in topic["Properties"]
    groups = resources(compute, "AWS::Logs::LogGroup").values()
    assert len(groups) == 4  # producer, consumer, trend, VPC flow logs
    for group in groups:
        assert group["Properties"]["RetentionInDays"] == 30
        assert "KmsKeyId" in group["Properties"]


def test_subscriptions_and_symbol_filter_policy_come_from_context(synth: Synth) -> None:
    data, _ = synth(alertEmails="me@example.com", alertSms="+15551234567", alertSymbols="AAPL,NVDA")
    subs = [
        s["Properties"]
        for s in resources(data, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] != "sqs"  # the dashboard's queue takes every alert
    ]
    assert sorted((s["Protocol"], s["Endpoint"]) for s in subs) == [
        ("email", "me@example.com"),
        ("sms", "+15551234567"),
    ]
    for sub in subs:
        assert sub["FilterPolicy"] == {"symbol": ["AAPL", "NVDA"]}


def test_no_filter_policy_without_alert_symbols(synth: Synth) -> None:
    data, _ = synth(alertEmails="me@example.com")
    for sub in resources(data, "AWS::SNS::Subscription").values():
        assert "FilterPolicy" not in sub["Properties"]


def test_trend_lambda_reads_inserts_with_item_failures_bisect_and_a_failure_queue(
    synth: Synth,
) -> None:
    _, compute = synth(trendBatchSize=250)
    mapping = only(compute, "AWS::Lambda::EventSourceMapping")
    assert mapping["BatchSize"] == 250
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FilterCriteria"] == {"Filters": [{"Pattern": '{"eventName":["INSERT"]}'}]}
    failures = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    queue_id = failures["Fn::GetAtt"][0]
    queue = resources(compute, "AWS::SQS::Queue")[queue_id]["Properties"]
    assert "KmsMasterKeyId" in queue
    function = only(compute, "AWS::Lambda::Function")
    assert function["PackageType"] == "Image"
    assert "KmsKeyArn" in function and "TracingConfig" not in function  # opt-in: cost
    env = function["Environment"]["Variables"]
    assert {
        "STOCKPIPE_TREND_STATE_TABLE",
        "STOCKPIPE_ALERTS_TOPIC_ARN",
        "STOCKPIPE_TREND_FAILURE_QUEUE_URL",
    } <= set(env)


def test_lambda_tracing_is_opt_in(synth: Synth) -> None:
    _, compute = synth(lambdaTracing="true")
    assert only(compute, "AWS::Lambda::Function")["TracingConfig"] == {"Mode": "Active"}


def test_reserved_concurrency_is_opt_in_so_a_new_account_can_deploy(synth: Synth) -> None:
    _, compute = synth()
    assert "ReservedConcurrentExecutions" not in only(compute, "AWS::Lambda::Function")
    _, compute = synth(trendReservedConcurrency="5")
    assert only(compute, "AWS::Lambda::Function")["ReservedConcurrentExecutions"] == 5


def test_glue_tables_are_the_code_definition_with_partition_projection(synth: Synth) -> None:
    data, _ = synth()
    found = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
        for t in resources(data, "AWS::Glue::Table").values()
    }
    expected = {t["Name"]: t for t in history_tables.table_inputs("BUCKET")}
    assert set(found) == set(expected) == {"ticks", "dead_letters"}
    for name, table in found.items():
        want = expected[name]
        assert table["StorageDescriptor"]["Columns"] == want["StorageDescriptor"]["Columns"]
        assert table["PartitionKeys"] == want["PartitionKeys"]
        assert table["Parameters"]["projection.enabled"] == "true"
        assert set(table["Parameters"]) == set(want["Parameters"])


def test_athena_workgroup_enforces_an_encrypted_result_location_and_a_scan_cutoff(
    synth: Synth,
) -> None:
    data, _ = synth()
    config = only(data, "AWS::Athena::WorkGroup")["WorkGroupConfiguration"]
    assert config["BytesScannedCutoffPerQuery"] == 10 * 1024**3
    assert config["EnforceWorkGroupConfiguration"] is True
    result = config["ResultConfiguration"]
    assert result["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"


def test_services_run_from_the_docker_images_with_read_only_root_and_own_roles(
    synth: Synth,
) -> None:
    _, compute = synth(network="nat")
    tasks = resources(compute, "AWS::ECS::TaskDefinition").values()
    task_roles = set()
    for task in tasks:
        props = task["Properties"]
        (container,) = props["ContainerDefinitions"]
        assert container["ReadonlyRootFilesystem"] is True
        assert "User" not in container  # the image's non-root USER applies
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
        assert props["RequiresCompatibilities"] == ["FARGATE"]
        task_roles.add(str(props["TaskRoleArn"]))
        assert props["TaskRoleArn"] != props["ExecutionRoleArn"]
    assert len(task_roles) == 2  # producer and consumer: one role each
    services = [s["Properties"] for s in resources(compute, "AWS::ECS::Service").values()]
    assert len(services) == 2
    for service in services:
        network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"


def test_no_action_wildcards_and_resources_named_wherever_aws_allows(synth: Synth) -> None:
    for template in synth():
        for policy, s in statements(template):
            actions = as_list(s["Action"])
            assert not any("*" in a for a in actions), f"{policy}: {actions}"
            if s.get("Resource") == "*":
                assert set(actions) <= UNSCOPED_ACTIONS, f"{policy}: {actions} on *"


def test_roles_allow_exactly_the_calls_the_code_makes(synth: Synth) -> None:
    _, compute = synth()
    granted: dict[str, set[str]] = {}
    for policy, s in statements(compute):
        granted.setdefault(policy.split("DefaultPolicy")[0], set()).update(as_list(s["Action"]))
    assert granted["ProducerTaskRole"] == {
        "kinesis:DescribeStreamSummary",
        "kinesis:PutRecords",
        "kms:GenerateDataKey",
    }
    assert granted["ConsumerTaskRole"] == {
        "kinesis:ListShards",
        "kinesis:GetShardIterator",
        "kinesis:GetRecords",
        # the KCL 3 tables (no CreateTable/UpdateTable: the stack makes them), the ticks table
        "dynamodb:Query",
        "dynamodb:DescribeTable",
        "dynamodb:Scan",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "s3:PutObject",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
    }
    assert {a for a in granted["TrendRole"] if a.startswith(("sns:", "kinesis:", "s3:"))} == {
        "sns:Publish"
    }


def test_dashboard_policy_reads_by_key_and_writes_only_its_queue_and_athena_results(
    synth: Synth,
) -> None:
    data, _ = synth()
    found = [s for policy, s in statements(data) if policy.startswith("DashboardReadPolicy")]
    by_action = {a: json.dumps(s["Resource"]) for s in found for a in as_list(s["Action"])}
    assert set(by_action) == {
        "dynamodb:Query",  # one symbol's ticks, with a limit: no Scan
        "dynamodb:GetItem",  # trend state, shard leases
        "kinesis:ListShards",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",  # its own queue's messages, once shown
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:PutObject",  # Athena writes the result file as the caller
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "glue:GetDatabase",
        "glue:GetTable",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }
    assert "DashboardAlerts" in by_action["sqs:DeleteMessage"]
    assert "athena-results/*" in by_action["s3:PutObject"]
    assert "ticks/*" not in by_action["s3:PutObject"]
    listing = next(s for s in found if s["Action"] == "s3:ListBucket")
    assert listing["Condition"]["StringLike"]["s3:prefix"] == [
        "ticks/*",
        "dead-letter/*",
        "athena-results/*",
    ]
    queues = resources(data, "AWS::SQS::Queue")
    assert (
        "KmsMasterKeyId"
        in queues[next(q for q in queues if q.startswith("DashboardAlerts"))]["Properties"]
    )
    subscription = only(data, "AWS::SNS::Subscription")
    assert subscription["Protocol"] == "sqs"
    assert "RawMessageDelivery" not in subscription  # the SNS envelope, as on the local stack
    outputs = data.to_json()["Outputs"]
    assert {"DashboardQueueName", "DashboardPolicyArn"} <= set(outputs)


def test_alarms_watch_lag_dead_letters_lambda_errors_and_notify_the_alarm_topic(
    synth: Synth,
) -> None:
    _, compute = synth()
    alarms = [
        a["Properties"]
        for a in resources(compute, "AWS::CloudWatch::Alarm").values()
        if "stockpipe:" in a["Properties"].get("AlarmDescription", "")
    ]
    watched = {(a.get("Namespace"), a.get("MetricName")) for a in alarms}
    assert watched == {
        ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
        ("AWS/Kinesis", "WriteProvisionedThroughputExceeded"),
        ("AWS/S3", "PutRequests"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "IteratorAge"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    }
    for alarm in alarms:
        assert alarm["AlarmActions"] and alarm["OKActions"]
        assert "AlarmsTopic" in str(alarm["AlarmActions"])
    dead_letters = next(a for a in alarms if a["MetricName"] == "PutRequests")
    assert {"Name": "FilterId", "Value": "DeadLetters"} in dead_letters["Dimensions"]
    compute.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_no_nat_by_default_tasks_public_without_inbound_rules_and_https_out_only(
    synth: Synth,
) -> None:
    _, compute = synth()
    compute.resource_count_is("AWS::EC2::NatGateway", 0)
    compute.resource_count_is("AWS::EC2::VPCEndpoint", 2)  # the free S3 and DynamoDB gateways
    for service in resources(compute, "AWS::ECS::Service").values():
        network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "ENABLED"
    groups = resources(compute, "AWS::EC2::SecurityGroup").values()
    assert len(groups) == 2  # producer and consumer
    for group in groups:
        props = group["Properties"]
        assert "SecurityGroupIngress" not in props
        (egress,) = props["SecurityGroupEgress"]
        assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)


def test_nat_is_an_option_with_private_tasks(synth: Synth) -> None:
    _, compute = synth(network="nat", natGateways=2)
    compute.resource_count_is("AWS::EC2::NatGateway", 2)
    for service in resources(compute, "AWS::ECS::Service").values():
        network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"


def test_the_consumer_stop_timeout_covers_the_kcl_shutdown_grace(synth: Synth) -> None:
    _, compute = synth()
    (consumer,) = [
        c
        for t in resources(compute, "AWS::ECS::TaskDefinition").values()
        for c in t["Properties"]["ContainerDefinitions"]
        if any(e["Name"] == "STOCKPIPE_CONSUMER_APPLICATION" for e in c["Environment"])
    ]
    # the grace, then one history flush per shard (<= 2 s measured) and its checkpoint
    grace_s = Settings().kcl_shutdown_grace_ms / 1000
    assert consumer["StopTimeout"] >= grace_s + 10
