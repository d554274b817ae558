"""`stockpipe scale --shards N`: reshard the stream, then cap the consumer service at N tasks.

A KCL worker leases whole shards, so tasks beyond the shard count idle: the service's auto
scaling maximum is the shard count. UpdateShardCount can at most double or halve the open
shards per call, so a larger change takes several calls, each waiting for ACTIVE (AWS allows
10 such calls per stream per rolling 24 hours).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_SHARDS = 500
SCALABLE_DIMENSION = "ecs:service:DesiredCount"


class ScaleError(ValueError):
    """The stream cannot be scaled as asked; the message says what to do instead."""


@dataclass(frozen=True)
class ConsumerService:
    cluster: str
    service: str

    @property
    def resource_id(self) -> str:
        return f"service/{self.cluster}/{self.service}"


@dataclass(frozen=True)
class ScaleResult:
    shards_before: int
    shards_after: int
    steps: list[int]
    max_tasks: int
    desired_tasks: int


def shard_steps(current: int, target: int) -> list[int]:
    """Targets for successive UpdateShardCount calls: each within [ceil(n/2), 2n]."""
    if not 1 <= target <= MAX_SHARDS:
        raise ScaleError(f"--shards {target}: between 1 and {MAX_SHARDS}")
    steps: list[int] = []
    n = current
    while n != target:
        n = min(target, 2 * n) if target > n else max(target, math.ceil(n / 2))
        steps.append(n)
    return steps


def scale(
    shards: int,
    *,
    stream: str,
    consumers: ConsumerService,
    kinesis: Any,
    autoscaling: Any,
    ecs: Any,
    progress: Callable[[str], None],
    poll_s: float = 2.0,
    timeout_s: float = 900.0,
) -> ScaleResult:
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    if summary.get("StreamModeDetails", {}).get("StreamMode") == "ON_DEMAND":
        raise ScaleError(
            f"{stream} is on-demand: Kinesis adds shards by itself. Raise the consumer cap "
            "with `-c maxConsumers=N` and `cdk deploy` instead."
        )
    before = int(summary["OpenShardCount"])
    steps = shard_steps(before, shards)
    for step in steps:
        progress(f"resharding {stream}: {step} shards")
        kinesis.update_shard_count(
            StreamName=stream, TargetShardCount=step, ScalingType="UNIFORM_SCALING"
        )
        _wait_active(kinesis, stream, poll_s, timeout_s)
    max_tasks, desired = _cap_consumers(consumers, shards, autoscaling, ecs)
    progress(f"consumer service {consumers.service}: at most {max_tasks} tasks, now {desired}")
    return ScaleResult(before, shards, steps, max_tasks, desired)


def _wait_active(kinesis: Any, stream: str, poll_s: float, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{stream} still {summary['StreamStatus']} after {timeout_s:.0f} s")
        time.sleep(poll_s)


def _cap_consumers(
    consumers: ConsumerService, shards: int, autoscaling: Any, ecs: Any
) -> tuple[int, int]:
    """Max = shards; min no higher than max; a desired count above the cap comes down now."""
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace="ecs",
        ResourceIds=[consumers.resource_id],
        ScalableDimension=SCALABLE_DIMENSION,
    )["ScalableTargets"]
    if not targets:
        raise ScaleError(f"{consumers.resource_id} has no auto scaling target: deploy deploy/")
    autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=consumers.resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=min(int(targets[0]["MinCapacity"]), shards),
        MaxCapacity=shards,
    )
    (service,) = ecs.describe_services(cluster=consumers.cluster, services=[consumers.service])[
        "services"
    ]
    desired = int(service["desiredCount"])
    if desired > shards:
        ecs.update_service(
            cluster=consumers.cluster, service=consumers.service, desiredCount=shards
        )
        desired = shards
    return shards, desired
