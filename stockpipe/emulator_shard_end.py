"""The one Kinesis behaviour the KCL needs that moto lacks: the end of a closed shard.

After a split or merge (UpdateShardCount, SplitShard, MergeShards), Kinesis answers a
GetRecords past a closed shard's last record with no `NextShardIterator` and the shard's
`ChildShards`; that is how a KCL worker learns the shard ended, checkpoints SHARD_END and
creates its children's leases. moto 5 (`moto/kinesis/responses.py`, `get_records`) always
returns a next iterator and never `ChildShards`, so real KCL workers read the parents forever
and never start the children (seen: parents' leases checkpointed at their last sequence
number, children without leases). This replaces moto's GetRecords response with one that
does both, and changes nothing for open shards. See docs/emulator.md.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.kinesis.responses import KinesisResponse
from moto.kinesis.utils import decompose_shard_iterator


def child_shards(stream: Any, shard_id: str) -> list[dict[str, Any]]:
    return [
        {
            "ShardId": child.shard_id,
            "ParentShards": [p for p in (child.parent, child.adjacent_parent) if p],
            "HashKeyRange": {
                "StartingHashKey": str(child.starting_hash),
                "EndingHashKey": str(child.ending_hash),
            },
        }
        for child in stream.shards.values()
        if shard_id in (child.parent, child.adjacent_parent)
    ]


def get_records(self: KinesisResponse) -> ActionResult:
    stream_arn = self._get_param("StreamARN")
    iterator = self._get_param("ShardIterator")
    next_iterator, records, behind_ms = self.kinesis_backend.get_records(
        stream_arn, iterator, self._get_param("Limit")
    )
    result: dict[str, Any] = {
        "Records": [record.to_json() for record in records],
        "MillisBehindLatest": behind_ms,
    }
    stream_name, shard_id, _ = decompose_shard_iterator(iterator)
    stream = self.kinesis_backend.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
    if records or stream.get_shard(shard_id).is_open:
        result["NextShardIterator"] = next_iterator
    else:  # a closed shard read to its end
        result["ChildShards"] = child_shards(stream, shard_id)
    return ActionResult(result)


def install() -> None:
    KinesisResponse.get_records = get_records
