"""GIVEN the CDK app WHEN synthesized THEN the production hardening holds: every service
option of the common schemas reaches its service, data outlives stacks and its key, KMS use
is conditioned, the network lets out only HTTPS and only to this stack's data, and
containers hold no capabilities."""

from __future__ import annotations

from typing import Any

import pytest

from common.settings import ConsumerSettings, ProducerSettings, TrendSettings, env_name
from tests.unit.deploy.conftest import Synth
from tests.unit.deploy.test_templates import as_list, named, resources, statements


def lambda_env(compute: Any) -> dict[str, Any]:
    (function,) = resources(compute, "AWS::Lambda::Function").values()
    return dict(function["Properties"]["Environment"]["Variables"])


def container_env(compute: Any, task_prefix: str) -> dict[str, Any]:
    task = named(compute, "AWS::ECS::TaskDefinition", task_prefix)["Properties"]
    (container,) = task["ContainerDefinitions"]
    return {e["Name"]: e["Value"] for e in container["Environment"]}


def rendered(schema: Any) -> set[str]:
    """The schema's variables that have a value by default (None renders nothing)."""
    defaults = schema.model_construct().model_dump()
    return {env_name(name) for name, value in defaults.items() if value is not None}


# --- service settings -------------------------------------------------------------------


def test_the_trend_lambda_gets_every_trend_option(synth: Synth) -> None:
    _, compute = synth()
    env = lambda_env(compute)
    assert set(TrendSettings.env_names()) <= set(env)  # region and topic ARN are wired too
    assert env["STOCKPIPE_TREND_FAST"] == str(TrendSettings.model_fields["trend_fast"].default)


def test_a_changed_context_value_reaches_the_lambda(synth: Synth) -> None:
    _, compute = synth(
        trendBar="5m",
        trendFast="3",
        trendSlow=30,
        trendAllowedLateness="2m",
        trendHysteresis="0.01",
        trendCooldownBars=2,
        trendBatchSize=50,
        trendWatermarkJump="15m",
        trendWatermarkConfirmations=5,
        trendOutboxCap=40,
        trendPublishLease="3m",
    )
    env = lambda_env(compute)
    assert {k: env[k] for k in env if k.startswith("STOCKPIPE_TREND_")} == {
        "STOCKPIPE_TREND_STATE_TABLE": env["STOCKPIPE_TREND_STATE_TABLE"],
        "STOCKPIPE_TREND_FAILURE_QUEUE_URL": env["STOCKPIPE_TREND_FAILURE_QUEUE_URL"],
        "STOCKPIPE_TREND_BAR": "5m",
        "STOCKPIPE_TREND_FAST": "3",
        "STOCKPIPE_TREND_SLOW": "30",
        "STOCKPIPE_TREND_ALLOWED_LATENESS": "2m",
        "STOCKPIPE_TREND_HYSTERESIS": "0.01",
        "STOCKPIPE_TREND_COOLDOWN_BARS": "2",
        "STOCKPIPE_TREND_BATCH_SIZE": "50",
        "STOCKPIPE_TREND_WATERMARK_JUMP": "15m",
        "STOCKPIPE_TREND_WATERMARK_CONFIRMATIONS": "5",
        "STOCKPIPE_TREND_OUTBOX_CAP": "40",
        "STOCKPIPE_TREND_PUBLISH_LEASE": "3m",
    }
    assert env["STOCKPIPE_TREND_FAILURE_QUEUE_URL"]["Ref"].startswith("TrendFailures")
    (mapping,) = resources(compute, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["BatchSize"] == 50  # the same value drives the event source


@pytest.mark.parametrize(
    ("task", "schema"), [("ProducerTask", ProducerSettings), ("ConsumerTask", ConsumerSettings)]
)
def test_each_task_gets_every_option_of_its_schema(synth: Synth, task: str, schema: Any) -> None:
    _, compute = synth(symbols="SPY,QQQ", consumerColdAgeMs=60_000, logLevel="DEBUG")
    env = container_env(compute, task)
    assert rendered(schema) <= set(env)
    assert env["STOCKPIPE_LOG_LEVEL"] == "DEBUG"
    assert env["STOCKPIPE_LOG_FORMAT"] == "json"
    if schema is ProducerSettings:
        assert env["STOCKPIPE_SYMBOLS"] == "SPY,QQQ"
        assert env["STOCKPIPE_SOURCE"] == "yfinance"  # the deployed default: live quotes
    else:
        assert env["STOCKPIPE_CONSUMER_COLD_AGE_MS"] == "60000"


# --- data safety ------------------------------------------------------------------------


def test_key_and_buckets_are_retained_on_delete_and_replacement(synth: Synth) -> None:
    data, _ = synth()
    key = named(data, "AWS::KMS::Key", "DataKey")
    assert key["Properties"]["PendingWindowInDays"] == 30
    retained = [key, *resources(data, "AWS::S3::Bucket").values()]
    assert len(retained) == 3  # the key, the history bucket, the trail's log bucket
    for resource in retained:
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain",) * 2


def test_every_table_has_deletion_protection(synth: Synth) -> None:
    data, _ = synth()
    tables = resources(data, "AWS::DynamoDB::Table").values()
    assert len(tables) >= 3
    assert all(t["Properties"]["DeletionProtectionEnabled"] is True for t in tables)


def test_old_object_versions_are_kept_30_to_90_days(synth: Synth) -> None:
    data, _ = synth()
    bucket = named(data, "AWS::S3::Bucket", "HistoryBucket")["Properties"]
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    days = rules["OldVersions"]["NoncurrentVersionExpiration"]["NoncurrentDays"]
    assert 30 <= days <= 90


def test_disabling_the_key_or_scheduling_its_deletion_alarms(synth: Synth) -> None:
    data, _ = synth()
    (rule,) = resources(data, "AWS::Events::Rule").values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.kms"]
    assert set(pattern["detail"]["eventName"]) == {"DisableKey", "ScheduleKeyDeletion"}
    assert "DataKey" in str(pattern["detail"]["resources"])  # this key only
    (target,) = rule["Properties"]["Targets"]
    assert "AlarmsTopic" in str(target["Arn"])


def test_a_trail_records_the_history_buckets_data_events(synth: Synth) -> None:
    data, _ = synth()
    (trail,) = resources(data, "AWS::CloudTrail::Trail").values()
    props = trail["Properties"]
    assert props["EnableLogFileValidation"] is True and "KMSKeyId" in props
    management, objects = props["EventSelectors"]
    # write management events (the key's state changes), never the many reads
    assert management == {"IncludeManagementEvents": True, "ReadWriteType": "WriteOnly"}
    assert objects["IncludeManagementEvents"] is False
    (resource,) = objects["DataResources"]
    assert resource["Type"] == "AWS::S3::Object"
    assert "HistoryBucket" in str(resource["Values"])
    skipped, _ = synth(dataEventTrail="false")
    skipped.resource_count_is("AWS::CloudTrail::Trail", 0)
    bucket = named(skipped, "AWS::S3::Bucket", "HistoryBucket")
    (skip,) = bucket["Metadata"]["checkov"]["skip"]
    assert "must have a CloudTrail trail recording S3 data events" in skip["comment"]


# --- KMS conditions ---------------------------------------------------------------------


def test_every_role_uses_the_key_only_through_the_services_it_calls(synth: Synth) -> None:
    _, compute = synth()
    ours = [
        (policy, s)
        for policy, s in statements(compute)
        if any(a.startswith("kms:") for a in as_list(s["Action"]))
        and policy.startswith(("ProducerTaskRole", "ConsumerTaskRole", "TrendRole"))
    ]
    assert len(ours) >= 4  # producer, consumer, trend, the trend's failure queue
    for policy, s in ours:
        via = s["Condition"]["StringEquals"]["kms:ViaService"]
        assert via, policy


def test_service_principals_in_the_key_policy_carry_source_conditions(synth: Synth) -> None:
    data, _ = synth()
    policy = named(data, "AWS::KMS::Key", "DataKey")["Properties"]["KeyPolicy"]
    by_sid = {s.get("Sid"): s for s in policy["Statement"]}
    for sid in ("CloudWatchAlarmsPublish", "EventBridgeAlarmsPublish"):
        condition = by_sid[sid]["Condition"]
        assert "aws:SourceAccount" in condition["StringEquals"]
        assert any("aws:SourceArn" in c for c in condition.values())
    logs = by_sid["CloudWatchLogsUse"]["Condition"]["ArnLike"]
    assert "kms:EncryptionContext:aws:logs:arn" in logs


# --- network ----------------------------------------------------------------------------


def endpoint_policies(compute: Any) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for endpoint in resources(compute, "AWS::EC2::VPCEndpoint").values():
        props = endpoint["Properties"]
        service = str(props["ServiceName"])
        found[service] = props.get("PolicyDocument", {}).get("Statement", [])
    return found


def test_gateway_endpoints_reach_only_this_stacks_bucket_tables_and_ecr_layers(
    synth: Synth,
) -> None:
    _, compute = synth()
    policies = endpoint_policies(compute)
    s3 = next(v for k, v in policies.items() if ".s3" in k)
    dynamodb = next(v for k, v in policies.items() if ".dynamodb" in k)
    s3_resources = [str(r) for s in s3 for r in as_list(s["Resource"])]
    assert s3_resources and all(
        "HistoryBucket" in r or "starport-layer-bucket" in r for r in s3_resources
    )
    assert {a for s in s3 for a in as_list(s["Action"])} == {"s3:PutObject", "s3:GetObject"}
    table_resources = [str(r) for s in dynamodb for r in as_list(s["Resource"])]
    kcl_tables = ("ConsumerLeaseTable", "ConsumerCoordinatorStateTable", "ConsumerWorkerMetrics")
    assert table_resources and all(
        "TicksTable" in r or any(t in r for t in kcl_tables) for r in table_resources
    )
    for statement in s3 + dynamodb:
        assert "*" not in str(statement["Action"])


def test_endpoints_network_isolates_the_consumer_behind_interface_endpoints(
    synth: Synth,
) -> None:
    _, compute = synth(network="endpoints")
    compute.resource_count_is("AWS::EC2::NatGateway", 0)
    policies = endpoint_policies(compute)
    services = " ".join(policies)
    for service in ("kinesis-streams", "ecr.api", "ecr.dkr", "logs"):
        assert f".{service}" in services, service
    kinesis = next(v for k, v in policies.items() if "kinesis" in k)
    assert all("TickStream" in str(s["Resource"]) for s in kinesis)
    public = {
        logical_id.split("Service")[0]: s["Properties"]["NetworkConfiguration"][
            "AwsvpcConfiguration"
        ]["AssignPublicIp"]
        for logical_id, s in resources(compute, "AWS::ECS::Service").items()
    }
    # Yahoo Finance is on the internet: the live producer keeps a public address
    assert public == {"Producer": "ENABLED", "Consumer": "DISABLED"}
    _, synthetic = synth(network="endpoints", source="synthetic")
    for service in resources(synthetic, "AWS::ECS::Service").values():
        network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"


def test_interface_endpoints_sit_in_the_endpoint_azs_asked_for(synth: Synth) -> None:
    for azs in (2, 1):
        _, compute = synth(network="endpoints", endpointAzs=str(azs))
        interfaces = [
            e["Properties"]
            for e in resources(compute, "AWS::EC2::VPCEndpoint").values()
            if e["Properties"].get("VpcEndpointType") == "Interface"
        ]
        assert len(interfaces) == 4
        assert all(len(props["SubnetIds"]) == azs for props in interfaces), azs
        # and the consumer still spreads over both AZs' task subnets
        (consumer,) = (
            s for k, s in resources(compute, "AWS::ECS::Service").items() if "Consumer" in k
        )
        network = consumer["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert len(network["Subnets"]) == 2


def test_with_endpoints_only_https_reaches_them_from_the_vpc_and_leaves_the_tasks(
    synth: Synth,
) -> None:
    _, compute = synth(network="endpoints")
    groups = resources(compute, "AWS::EC2::SecurityGroup").values()
    assert len(groups) == 3  # producer, consumer, and one shared by the interface endpoints
    for group in groups:
        props = group["Properties"]
        for ingress in props.get("SecurityGroupIngress", []):
            assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == (
                "tcp",
                443,
                443,
            )
            assert "Vpc" in str(ingress["CidrIp"])  # the VPC's own range, not the internet
        for egress in props["SecurityGroupEgress"]:
            if egress.get("CidrIp") == "255.255.255.255/32":
                continue  # CDK's "no egress at all" placeholder on the endpoints' group
            assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == (
                "tcp",
                443,
                443,
            )


def test_the_cost_model_prices_the_networks_the_app_deploys() -> None:
    from deploy.config import NETWORKS as DEPLOYED
    from stockpipe.cost import NETWORKS as PRICED

    assert PRICED == DEPLOYED


def test_flow_logs_record_rejects_or_everything(synth: Synth) -> None:
    for context, traffic in (({}, "REJECT"), ({"allFlowLogs": "true"}, "ALL")):
        _, compute = synth(**context)
        (log,) = resources(compute, "AWS::EC2::FlowLog").values()
        assert log["Properties"]["TrafficType"] == traffic


# --- containers -------------------------------------------------------------------------


def test_containers_drop_every_capability_and_both_services_check_health(synth: Synth) -> None:
    _, compute = synth()
    commands = {}
    for logical_id, task in resources(compute, "AWS::ECS::TaskDefinition").items():
        (container,) = task["Properties"]["ContainerDefinitions"]
        assert container["LinuxParameters"]["Capabilities"]["Drop"] == ["ALL"]
        commands[logical_id.split("Task")[0]] = container["HealthCheck"]["Command"]
    assert commands == {
        "Producer": ["CMD-SHELL", "python3 -m producer.health"],
        "Consumer": ["CMD-SHELL", "python3 -m consumer.health"],
    }
