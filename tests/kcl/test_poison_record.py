"""One poison record under the real KCL daemon does not stall its shard: it becomes a dead
letter, the ticks after it land, the worker keeps running and checkpoints past it."""

from __future__ import annotations

import base64
import signal
from pathlib import Path
from typing import Any

from common import aws
from common.settings import Settings
from stockpipe import inventory
from stockpipe.provision import provision
from tests.factories import a_tick, ticks
from tests.kcl.workers import publish, start_worker, stop, stored_ids
from tests.waiting import wait_for


def checkpoint() -> int:
    [lease] = aws.client("dynamodb").scan(TableName=Settings().consumer_application)["Items"]
    text = lease["checkpoint"]["S"]
    return int(text) if text.isdigit() else -1


def test_a_poison_record_does_not_stall_the_shard(aws_env: str, tmp_path: Path) -> None:
    settings = Settings(shard_count=1)
    provision(settings)
    before, after = ticks(300)[:150], ticks(300)[150:]
    # GIVEN on one shard: valid ticks, a tick whose price DynamoDB cannot store (1e-200,
    # the record that used to stop a shard for good), a volume past Int64, valid ticks
    poison = [
        a_tick().encode().replace(b'"price":229.87', b'"price":1e-200'),
        a_tick().encode().replace(b'"volume":300', b'"volume":9223372036854775808'),
    ]
    publish(before)
    kinesis: Any = aws.client("kinesis")
    poison_at = [
        int(
            kinesis.put_record(StreamName=settings.stream_name, Data=d, PartitionKey="AAPL")[
                "SequenceNumber"
            ]
        )
        for d in poison
    ]
    publish(after)
    worker = start_worker("poison", tmp_path)
    try:
        # WHEN the daemon runs THEN every valid tick lands and the poison is dead-lettered
        wait_for(lambda: len(stored_ids(settings)[0]) >= 300, 150, "all 300 ticks")
        s3 = aws.client("s3")
        wait_for(lambda: len(inventory.dead_letters(s3, settings.bucket)) >= 2, 30, "letters")
        letters = inventory.dead_letters(s3, settings.bucket)
        assert sorted(base64.b64decode(d["data_base64"]) for d in letters) == sorted(poison)
        assert sorted(d["rule"] for d in letters) == ["bad_price", "bad_volume"]
        dynamo, parquet = stored_ids(settings)
        expected = sorted(t.id for t in before + after)
        assert sorted(dynamo) == expected and sorted(parquet) == expected
        # AND the worker is alive and its checkpoint is past the poison
        assert worker.poll() is None, "the worker exited"
        wait_for(lambda: checkpoint() > max(poison_at), 30, "a checkpoint past the poison")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            stop(worker, signal.SIGKILL)
            worker.wait()
