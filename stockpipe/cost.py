"""Monthly cost of a deployment for N symbols at M ticks per second: list prices times the
request, storage and hours the pipeline's design implies (one DynamoDB item per tick, one
Parquet object per shard per flush, one trend invocation per stream batch, ...).

Prices are us-east-1 on-demand list prices as published in 2025 (PRICES_AS_OF); check them
in the AWS Pricing Calculator before committing to a budget. Free tiers are not deducted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRICES_AS_OF = "2025 us-east-1 list prices"
HOURS = 730.0  # per month
SECONDS = HOURS * 3600

# Kinesis Data Streams
SHARD_HOUR = 0.015
PUT_PAYLOAD_UNIT = 0.014 / 1e6  # per 25 KB unit; every record is at least one
ON_DEMAND_STREAM_HOUR = 0.04
ON_DEMAND_GB_IN = 0.08
ON_DEMAND_GB_OUT = 0.04
RECORDS_PER_SHARD_S = 1000
ON_DEMAND_INITIAL_SHARDS = 4  # 4 MB/s of write capacity at creation
# DynamoDB on-demand (stream reads by Lambda triggers are free)
WRITE_REQUEST_UNIT = 0.625 / 1e6
READ_REQUEST_UNIT = 0.125 / 1e6
DYNAMO_GB_MONTH = 0.25
PITR_GB_MONTH = 0.20
# S3 Standard
S3_PUT = 0.005 / 1000
S3_GB_MONTH = 0.023
# Lambda (x86)
LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB_SECOND = 0.0000166667
# Fargate (Linux x86)
VCPU_HOUR = 0.04048
GB_HOUR = 0.004445
# network
NAT_HOUR = 0.045
NAT_GB = 0.045
PUBLIC_IPV4_HOUR = 0.005
ENDPOINT_AZ_HOUR = 0.01  # interface endpoint, per AZ
ENDPOINT_GB = 0.01
INTERFACE_ENDPOINTS = 4  # Kinesis, ECR API, ECR Docker, CloudWatch Logs (deploy/compute_stack.py)
NETWORKS = ("public", "endpoints", "nat")  # -c network (deploy/config.py)
# CloudTrail data events (the history bucket's trail); its write management events are the
# free first copy unless the account already records them in another trail
TRAIL_DATA_EVENT = 0.10 / 100_000
# monitoring, keys, notifications
ALARM_MONTH = 0.10
DASHBOARD_MONTH = 3.0
CUSTOM_METRIC_MONTH = 0.30
LOG_GB_INGESTED = 0.50
KMS_KEY_MONTH = 1.0
KMS_REQUEST = 0.03 / 10_000
EMAIL = 2.0 / 100_000
SMS_US = 0.00883  # message + typical US carrier fee; varies by country

# what the design implies (measured where the note says so)
TICK_RECORD_BYTES = 130  # JSON tick on the stream (bench/producer_bench)
PARQUET_BYTES_PER_TICK = 20  # zstd Parquet, measured in docs/performance.md
DYNAMO_ITEM_BYTES = 250  # tick item with keys, TTL and enrichment: 1 write unit
TREND_STATE_WRITE_UNITS = 1  # per symbol per invocation: the state item is 0.6-1.0 KB
ALARMS = 8  # six alarms + two auto scaling alarms
CONTAINER_INSIGHTS_METRICS = 25  # cluster, two services, their task definitions
TRADING_DAYS = 21


@dataclass(frozen=True)
class Workload:
    symbols: int
    ticks_per_second: float
    shards: int = 1  # 0 = on-demand
    consumer_tasks: int = 1  # auto scaling runs 1..shards
    consumer_vcpu: float = 0.25  # -c consumerCpu=256 (the deploy default)
    poll_s: float = 0.25  # GetRecords cadence of a busy shard (STOCKPIPE_CONSUMER_POLL_MS)
    cold_age_s: float = 300.0  # history flush age (STOCKPIPE_CONSUMER_COLD_AGE_MS / 1000)
    network: str = "public"  # -c network: public subnets (no NAT), endpoints or nat
    nat_gateways: int = 1  # -c natGateways, with network=nat
    endpoint_azs: int = 2  # -c endpointAzs, with network=endpoints
    live_producer: bool = True  # yfinance: the producer needs the internet
    container_insights: bool = False
    data_event_trail: bool = True
    history_days: int = 365
    ticks_ttl_days: int = 7
    trend_batch_size: int = 100
    lambda_memory_gb: float = 0.25
    lambda_ms: float = 120.0
    alerts_per_symbol_day: float = 10.0
    email_subscribers: int = 1
    sms_subscribers: int = 0
    log_gb: float = 2.0


@dataclass(frozen=True)
class LineItem:
    service: str
    item: str
    usd: float


def estimate(w: Workload) -> list[LineItem]:
    ticks = w.ticks_per_second * SECONDS
    items = [*_kinesis(w, ticks), *_dynamodb(w, ticks), *_s3(w, ticks), *_lambda(w, ticks)]
    items += _compute(w, ticks) + _network(w, ticks) + _monitoring(w) + _alerts(w)
    return items


def shards_needed(ticks_per_second: float) -> int:
    """Records per second per shard is the limit that binds for ~130-byte ticks."""
    return max(1, math.ceil(ticks_per_second / RECORDS_PER_SHARD_S))


def _kinesis(w: Workload, ticks: float) -> list[LineItem]:
    if w.shards == 0:
        gb = ticks * TICK_RECORD_BYTES / 1e9
        return [
            LineItem("Kinesis", "on-demand stream hours", ON_DEMAND_STREAM_HOUR * HOURS),
            LineItem(
                "Kinesis", "on-demand data in + out", gb * (ON_DEMAND_GB_IN + ON_DEMAND_GB_OUT)
            ),
        ]
    return [
        LineItem("Kinesis", f"{w.shards} shard(s)", w.shards * SHARD_HOUR * HOURS),
        LineItem("Kinesis", "PUT payload units", ticks * PUT_PAYLOAD_UNIT),
    ]


def _busy_shards(w: Workload) -> int:
    """Shards that receive ticks (the partition key is the symbol); on-demand starts at 4."""
    shards = w.shards or ON_DEMAND_INITIAL_SHARDS
    return min(max(shards, shards_needed(w.ticks_per_second)), w.symbols)


def _hot_batches_per_second(w: Workload) -> float:
    """Each busy shard's GetRecords batch goes to DynamoDB at once (hot path)."""
    return min(_busy_shards(w) / w.poll_s, w.ticks_per_second)


def _history_flushes_per_second(w: Workload) -> float:
    """Each busy shard writes one Parquet object per date every cold age (cold path)."""
    return min(_busy_shards(w) / w.cold_age_s, w.ticks_per_second)


def _latest_quote_writes_per_second(w: Workload) -> float:
    """One conditional update per symbol present in a hot batch."""
    symbols_per_shard = w.symbols / _busy_shards(w)
    ticks_per_batch = w.ticks_per_second / _hot_batches_per_second(w)
    return _hot_batches_per_second(w) * min(symbols_per_shard, ticks_per_batch)


def _invocations_per_second(w: Workload) -> float:
    """One DynamoDB stream shard, no batching window (latency, docs/trend.md): Lambda polls
    it about 4 times a second, and a full batch ends a batch sooner."""
    return max(w.ticks_per_second / w.trend_batch_size, min(w.ticks_per_second, 4.0))


def _dynamodb(w: Workload, ticks: float) -> list[LineItem]:
    latest_quote_writes = _latest_quote_writes_per_second(w) * SECONDS
    invocations = _invocations_per_second(w) * SECONDS
    ticks_per_invocation = w.ticks_per_second / _invocations_per_second(w)
    symbols_per_invocation = min(w.symbols, max(1.0, ticks_per_invocation))
    state_writes = invocations * symbols_per_invocation * TREND_STATE_WRITE_UNITS
    stored_gb = w.ticks_per_second * w.ticks_ttl_days * 86_400 * DYNAMO_ITEM_BYTES / 1e9
    return [
        LineItem("DynamoDB", "tick writes (1 unit each)", ticks * WRITE_REQUEST_UNIT),
        LineItem("DynamoDB", "latest-quote updates", latest_quote_writes * WRITE_REQUEST_UNIT),
        LineItem("DynamoDB", "trend state writes", state_writes * WRITE_REQUEST_UNIT),
        LineItem(
            "DynamoDB",
            "trend state reads",
            invocations * symbols_per_invocation * READ_REQUEST_UNIT,
        ),
        LineItem("DynamoDB", f"storage ({w.ticks_ttl_days}-day TTL)", stored_gb * DYNAMO_GB_MONTH),
        LineItem("DynamoDB", "point-in-time recovery", stored_gb * PITR_GB_MONTH),
    ]


def _s3(w: Workload, ticks: float) -> list[LineItem]:
    days = w.history_days or 3650
    stored_gb = ticks / 30 * days * PARQUET_BYTES_PER_TICK / 1e9
    return [
        LineItem(
            "S3",
            "Parquet PUTs (one per shard per history flush)",
            _history_flushes_per_second(w) * SECONDS * S3_PUT,
        ),
        LineItem("S3", f"history storage ({days} days, steady state)", stored_gb * S3_GB_MONTH),
    ]


def _lambda(w: Workload, ticks: float) -> list[LineItem]:
    invocations = _invocations_per_second(w) * SECONDS
    gb_seconds = invocations * w.lambda_ms / 1000 * w.lambda_memory_gb
    return [
        LineItem("Lambda", "trend invocations", invocations * LAMBDA_REQUEST),
        LineItem("Lambda", "trend duration", gb_seconds * LAMBDA_GB_SECOND),
    ]


def _fargate(vcpu: float, gb: float) -> float:
    return (vcpu * VCPU_HOUR + gb * GB_HOUR) * HOURS


def _compute(w: Workload, ticks: float) -> list[LineItem]:
    memory = max(1.0, 2 * w.consumer_vcpu)  # deploy.config.DeployConfig.consumer_memory
    return [
        LineItem("Fargate", "producer (0.25 vCPU, 0.5 GB)", _fargate(0.25, 0.5)),
        LineItem(
            "Fargate",
            f"{w.consumer_tasks} consumer task(s) ({w.consumer_vcpu:g} vCPU, {memory:g} GB)",
            w.consumer_tasks * _fargate(w.consumer_vcpu, memory),
        ),
    ]


def _network(w: Workload, ticks: float) -> list[LineItem]:
    """Public addresses (the default), NAT or interface endpoints (options); S3 and DynamoDB
    always go through free gateway endpoints."""
    kinesis_gb = 2 * ticks * TICK_RECORD_BYTES / 1e9  # put by the producer, read by consumers
    if w.network == "nat":
        return [
            LineItem("VPC", f"{w.nat_gateways} NAT gateway(s)", w.nat_gateways * NAT_HOUR * HOURS),
            LineItem("VPC", "NAT data (Kinesis traffic)", kinesis_gb * NAT_GB),
            LineItem("VPC", "public IPv4 (NAT)", w.nat_gateways * PUBLIC_IPV4_HOUR * HOURS),
        ]
    if w.network == "endpoints":
        endpoints = INTERFACE_ENDPOINTS * w.endpoint_azs
        public = 1 if w.live_producer else 0  # Yahoo is on the internet
        return [
            LineItem(
                "VPC",
                f"{INTERFACE_ENDPOINTS} interface endpoints x {w.endpoint_azs} AZ(s)",
                endpoints * ENDPOINT_AZ_HOUR * HOURS,
            ),
            LineItem("VPC", "endpoint data (Kinesis traffic)", kinesis_gb * ENDPOINT_GB),
            LineItem("VPC", f"public IPv4 ({public} task)", public * PUBLIC_IPV4_HOUR * HOURS),
        ]
    tasks = 1 + w.consumer_tasks
    return [LineItem("VPC", f"public IPv4 ({tasks} tasks)", tasks * PUBLIC_IPV4_HOUR * HOURS)]


def _monitoring(w: Workload) -> list[LineItem]:
    items = [
        LineItem("CloudWatch", f"{ALARMS} alarms", ALARMS * ALARM_MONTH),
        LineItem("CloudWatch", "dashboard", DASHBOARD_MONTH),
        LineItem("CloudWatch", f"logs ({w.log_gb:g} GB)", w.log_gb * LOG_GB_INGESTED),
        LineItem("KMS", "one key + requests", KMS_KEY_MONTH + 200_000 * KMS_REQUEST),
    ]
    if w.container_insights:
        items.append(
            LineItem(
                "CloudWatch",
                "Container Insights metrics",
                CONTAINER_INSIGHTS_METRICS * CUSTOM_METRIC_MONTH,
            )
        )
    if w.data_event_trail:
        events = _history_flushes_per_second(w) * SECONDS  # one object PUT per flush
        items.append(
            LineItem("CloudTrail", "history bucket data events", events * TRAIL_DATA_EVENT)
        )
    return items


def _alerts(w: Workload) -> list[LineItem]:
    alerts = w.symbols * w.alerts_per_symbol_day * TRADING_DAYS
    return [
        LineItem("SNS", f"e-mail alerts ({alerts:,.0f})", alerts * w.email_subscribers * EMAIL),
        LineItem("SNS", "SMS alerts", alerts * w.sms_subscribers * SMS_US),
    ]
