"""The emulator and consumer images under testcontainers; ticks produced from the host."""

from __future__ import annotations

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

import docker
from common import aws
from common.settings import Settings
from producer.publisher import publisher_for
from stockpipe import inventory
from stockpipe.provision import provision
from tests.factories import ticks
from tests.waiting import wait_for


def counts(settings: Settings) -> tuple[int, int]:
    dynamo = inventory.dynamodb_tick_ids(aws.client("dynamodb"), settings.ticks_table)
    history = inventory.parquet_frame(aws.client("s3"), settings.bucket, ["id"])
    return len(set(dynamo)), history.height


def test_every_tick_produced_from_the_host_lands_via_the_read_only_consumer_container(
    images: None, engine: docker.DockerClient, emulator_port: int, host_aws: str
) -> None:
    emulator = (
        DockerContainer("stockpipe-emulator")
        .with_kwargs(network_mode="host")
        .with_env("EMULATOR_BIND", f"127.0.0.1:{emulator_port}")
        .waiting_for(LogMessageWaitStrategy("Running on").with_startup_timeout(60))
    )
    consumer = (
        DockerContainer("stockpipe-consumer")
        # as its ECS task runs it (deploy/): read-only root, a scratch /tmp
        .with_kwargs(network_mode="host", read_only=True)
        .with_tmpfs_mount("/tmp")
        .with_env("AWS_ENDPOINT_URL", host_aws)
        .with_env("AWS_DEFAULT_REGION", "us-east-1")
        .with_env("AWS_ACCESS_KEY_ID", "testing")
        .with_env("AWS_SECRET_ACCESS_KEY", "x")
        .with_env("STOCKPIPE_KCL_SHARD_SYNC_MS", "2000")
        .with_env("STOCKPIPE_CONSUMER_COLD_AGE_MS", "500")
    )
    with emulator:
        settings = Settings()
        provision(settings)
        batch = ticks(1000)
        with consumer:
            publisher = publisher_for(settings)
            for tick in batch:
                publisher.send(tick)
            publisher.close()
            wait_for(lambda: counts(settings) == (1000, 1000), 180, "1000 ticks in both stores")
            container = engine.containers.get(consumer.get_wrapped_container().id)
            assert container.attrs["Config"]["User"] == "stockpipe"  # not root
        dynamo = inventory.dynamodb_tick_ids(aws.client("dynamodb"), settings.ticks_table)
        assert sorted(dynamo) == sorted(t.id for t in batch)
