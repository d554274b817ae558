"""The emulator reshards as Kinesis does (stockpipe/emulator_resharding.py): parents keep
their records and children start empty; past a closed shard's last record GetRecords has no
next iterator and names the children; open shards go on."""

from __future__ import annotations

from typing import Any


def read_to_end(kinesis: Any, stream: str, shard_id: str) -> tuple[list[bytes], dict[str, Any]]:
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    data: list[bytes] = []
    for _ in range(10):
        page = kinesis.get_records(ShardIterator=iterator)
        data += [r["Data"] for r in page["Records"]]
        if "NextShardIterator" not in page:
            return data, page
        iterator = page["NextShardIterator"]
    raise AssertionError(f"{shard_id} never ended: {page}")


def test_a_split_parent_ends_with_its_children_and_they_stay_open(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_records(
        StreamName="s", Records=[{"Data": b"%d" % i, "PartitionKey": str(i)} for i in range(5)]
    )
    kinesis.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    data, last = read_to_end(kinesis, "s", "shardId-000000000000")
    assert data == [b"%d" % i for i in range(5)]  # the parent kept its records
    assert last["Records"] == []
    children = sorted(c["ShardId"] for c in last["ChildShards"])
    assert children == ["shardId-000000000001", "shardId-000000000002"]
    assert {tuple(c["ParentShards"]) for c in last["ChildShards"]} == {("shardId-000000000000",)}
    # an open child starts empty and, with nothing new, keeps its iterator
    iterator = kinesis.get_shard_iterator(
        StreamName="s", ShardId=children[0], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    page = kinesis.get_records(ShardIterator=iterator)
    assert page["Records"] == [] and "NextShardIterator" in page and "ChildShards" not in page


def test_a_merge_keeps_the_parents_records_and_the_child_names_both(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="m", ShardCount=2)
    kinesis.put_records(
        StreamName="m", Records=[{"Data": b"%d" % i, "PartitionKey": str(i)} for i in range(6)]
    )
    kinesis.update_shard_count(StreamName="m", TargetShardCount=1, ScalingType="UNIFORM_SCALING")
    kinesis.put_record(StreamName="m", Data=b"after", PartitionKey="x")
    first, _ = read_to_end(kinesis, "m", "shardId-000000000000")
    second, last = read_to_end(kinesis, "m", "shardId-000000000001")
    assert sorted(first + second) == sorted(b"%d" % i for i in range(6))
    (child,) = last["ChildShards"]
    assert sorted(child["ParentShards"]) == ["shardId-000000000000", "shardId-000000000001"]
    iterator = kinesis.get_shard_iterator(
        StreamName="m", ShardId=child["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"after"]


def test_writes_after_a_split_go_to_the_open_children(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="w", ShardCount=1)
    kinesis.update_shard_count(StreamName="w", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    put = kinesis.put_records(
        StreamName="w", Records=[{"Data": b"x", "PartitionKey": str(i)} for i in range(20)]
    )
    shards = {r["ShardId"] for r in put["Records"]}
    assert shards == {"shardId-000000000001", "shardId-000000000002"}
