"""The emulator ends a closed shard as Kinesis does (stockpipe/emulator_shard_end.py): past
its last record GetRecords has no next iterator and names the children; open shards go on."""

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
    assert data == [b"%d" % i for i in range(5)]
    assert last["Records"] == []
    children = sorted(c["ShardId"] for c in last["ChildShards"])
    assert children == ["shardId-000000000001", "shardId-000000000002"]
    assert {tuple(c["ParentShards"]) for c in last["ChildShards"]} == {("shardId-000000000000",)}
    # an open shard with nothing new keeps its iterator
    iterator = kinesis.get_shard_iterator(
        StreamName="s", ShardId=children[0], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    page = kinesis.get_records(ShardIterator=iterator)
    assert page["Records"] == [] and "NextShardIterator" in page and "ChildShards" not in page


def test_merged_children_name_both_parents(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="m", ShardCount=2)
    kinesis.update_shard_count(StreamName="m", TargetShardCount=1, ScalingType="UNIFORM_SCALING")
    _, last = read_to_end(kinesis, "m", "shardId-000000000001")
    (child,) = last["ChildShards"]
    assert sorted(child["ParentShards"]) == ["shardId-000000000000", "shardId-000000000001"]
