"""Resharding as Kinesis does it, where moto 5 differs in ways real KCL workers trip over.

1. Writes go to open shards. moto picks the first shard whose hash range holds the key,
closed or not, so after a reshard new records landed in the closed parents, which the KCL
had already finished: they were never read (seen: 232 of 464 ticks put after a merge).

2. Data stays where it was written. On Kinesis a split or merge closes the parents, which
keep their records until retention, and the children start empty. moto's `split_shard`
moves the parent's records into the children (emptying the parent) and `merge_shards`
copies the parents' records into the child: a worker that read a parent then reads its
records again from the children (duplicates), or loses unread ones from the parent. Here
both keep moto's shard bookkeeping and put the records back as Kinesis has them.

3. The end of a closed shard. After a split or merge Kinesis answers a
GetRecords past a closed shard's last record with no `NextShardIterator` and the shard's
`ChildShards`; that is how a KCL worker learns the shard ended, checkpoints SHARD_END and
creates its children's leases. moto 5 (`moto/kinesis/responses.py`, `get_records`) always
returns a next iterator and never `ChildShards`, so real KCL workers read the parents forever
and never start the children (seen: parents' leases checkpointed at their last sequence
number, children without leases). This replaces moto's GetRecords response with one that
does both, and changes nothing for open shards. See docs/emulator.md and docs/kcl.md.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.kinesis.models import Stream
from moto.kinesis.responses import KinesisResponse
from moto.kinesis.utils import decompose_shard_iterator
from moto.utilities.utils import md5_hash


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


def keeping_records(reshard: Callable[..., None]) -> Callable[..., None]:
    """moto's split/merge, then every old shard's records as before and new shards empty."""

    def kinesis_like(self: Stream, *args: Any) -> None:
        before = {shard_id: shard.records for shard_id, shard in self.shards.items()}
        reshard(self, *args)
        for shard_id, shard in self.shards.items():
            shard.records = before.get(shard_id, OrderedDict())

    return kinesis_like


def open_shard_for_key(find: Callable[..., Any]) -> Callable[..., Any]:
    """moto's lookup (it validates the key), then the open shard whose range holds the key."""

    def kinesis_like(self: Stream, partition_key: str, explicit_hash_key: str) -> Any:
        shard = find(self, partition_key, explicit_hash_key)
        if shard is None or shard.is_open:
            return shard
        digest = md5_hash(partition_key.encode()).hexdigest()
        key = int(explicit_hash_key) if explicit_hash_key else int(digest, 16)
        return next(
            s for s in self.shards.values() if s.is_open and s.starting_hash <= key <= s.ending_hash
        )

    return kinesis_like


def install() -> None:
    KinesisResponse.get_records = get_records
    if not getattr(Stream.split_shard, "kinesis_like", False):
        Stream.get_shard_for_key = open_shard_for_key(Stream.get_shard_for_key)
        for name in ("split_shard", "merge_shards"):
            patched = keeping_records(getattr(Stream, name))
            patched.kinesis_like = True  # type: ignore[attr-defined]
            setattr(Stream, name, patched)
