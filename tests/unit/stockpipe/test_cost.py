"""GIVEN a workload WHEN estimating its monthly cost THEN each line is list price times the
quantity the design implies, checked here by hand for one workload."""

from __future__ import annotations

import pytest

from stockpipe.cost import Workload, estimate, shards_needed


def lines(workload: Workload) -> dict[tuple[str, str], float]:
    return {(i.service, i.item): i.usd for i in estimate(workload)}


def test_fifty_symbols_at_twenty_ticks_per_second_by_hand() -> None:
    got = lines(Workload(symbols=50, ticks_per_second=20, shards=2, network="nat"))
    month_s = 730 * 3600
    ticks = 20 * month_s
    assert got[("Kinesis", "2 shard(s)")] == pytest.approx(2 * 0.015 * 730)
    assert got[("Kinesis", "PUT payload units")] == pytest.approx(ticks * 0.014 / 1e6)
    assert got[("DynamoDB", "tick writes (1 unit each)")] == pytest.approx(ticks * 0.625 / 1e6)
    # 2 shards, each writing its history every 5 minutes
    assert got[("S3", "Parquet PUTs (one per shard per history flush)")] == pytest.approx(
        2 / 300 * month_s * 0.005 / 1000
    )
    # 2 shards read 4 times a second: 8 hot batches a second, each updating the latest quote
    # of its 20 ticks' symbols (25 per shard, but only 2.5 ticks a batch)
    assert got[("DynamoDB", "latest-quote updates")] == pytest.approx(20 * month_s * 0.625 / 1e6)
    # no batching window: the stream is polled 4 times a second, 5 ticks of 5 symbols each
    assert got[("Lambda", "trend invocations")] == pytest.approx(4 * month_s * 0.20 / 1e6)
    assert got[("DynamoDB", "trend state writes")] == pytest.approx(20 * month_s * 0.625 / 1e6)
    assert got[("Fargate", "producer (0.25 vCPU, 0.5 GB)")] == pytest.approx(
        (0.25 * 0.04048 + 0.5 * 0.004445) * 730
    )
    assert got[("VPC", "1 NAT gateway(s)")] == pytest.approx(0.045 * 730)


def test_on_demand_replaces_shard_hours_by_stream_hours_and_data() -> None:
    got = lines(Workload(symbols=10, ticks_per_second=1, shards=0))
    assert ("Kinesis", "on-demand stream hours") in got
    assert not any(item.endswith("shard(s)") for _, item in got)


def test_no_nat_gateway_pays_public_addresses_for_the_tasks_instead() -> None:
    got = lines(Workload(symbols=10, ticks_per_second=1, consumer_tasks=2))
    assert ("VPC", "1 NAT gateway(s)") not in got
    assert got[("VPC", "public IPv4 (3 tasks)")] == pytest.approx(3 * 0.005 * 730)


def test_cost_grows_with_the_tick_rate() -> None:
    def total(tps: float) -> float:
        return sum(i.usd for i in estimate(Workload(symbols=50, ticks_per_second=tps)))

    assert total(1) < total(20) < total(200)


@pytest.mark.parametrize(("tps", "shards"), [(1, 1), (1000, 1), (1001, 2), (4500, 5)])
def test_a_shard_takes_a_thousand_records_a_second(tps: float, shards: int) -> None:
    assert shards_needed(tps) == shards


def test_the_default_deployment_runs_ten_symbols_at_a_tick_a_second_under_60_dollars() -> None:
    got = lines(Workload(symbols=10, ticks_per_second=1))
    month = 730
    assert got[("VPC", "public IPv4 (2 tasks)")] == pytest.approx(2 * 0.005 * month)
    assert not any("NAT" in item or "Container Insights" in item for _, item in got)
    assert got[("Fargate", "1 consumer task(s) (0.25 vCPU, 1 GB)")] == pytest.approx(
        (0.25 * 0.04048 + 1 * 0.004445) * month
    )
    # one Parquet PUT per 5 minutes (1 shard): as many trail data events
    assert got[("CloudTrail", "history bucket data events")] == pytest.approx(
        month * 3600 / 300 * 0.10 / 100_000
    )
    assert sum(got.values()) < 60


def test_interface_endpoints_are_billed_per_endpoint_and_az() -> None:
    for azs in (2, 1):
        got = lines(Workload(symbols=10, ticks_per_second=1, network="endpoints", endpoint_azs=azs))
        assert got[("VPC", f"4 interface endpoints x {azs} AZ(s)")] == pytest.approx(
            4 * azs * 0.01 * 730
        )
        assert got[("VPC", "public IPv4 (1 task)")] == pytest.approx(0.005 * 730)  # the producer
    synthetic = lines(
        Workload(symbols=10, ticks_per_second=1, network="endpoints", live_producer=False)
    )
    assert synthetic[("VPC", "public IPv4 (0 task)")] == 0


def test_no_network_variant_meets_60_dollars_at_ten_ticks_a_second_on_demand() -> None:
    """10 symbols x 1 tick/s each: each tick costs three DynamoDB writes on-demand (the tick,
    its symbol's latest quote in a 4-a-second hot batch, its symbol's trend state in a
    4-a-second invocation): ~$49 a month before anything else."""
    month_s = 730 * 3600
    writes = ("tick writes (1 unit each)", "latest-quote updates", "trend state writes")
    for network in ("public", "endpoints", "nat"):
        got = lines(Workload(symbols=10, ticks_per_second=10, network=network, endpoint_azs=1))
        assert sum(got[("DynamoDB", w)] for w in writes) == pytest.approx(
            3 * 10 * month_s * 0.625 / 1e6
        )
        assert sum(got.values()) > 60, network
