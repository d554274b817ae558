"""Drive record processors without Java: one process reads every shard of a stream.

It feeds the SAME processor through the same kclpy message types the MultiLangDaemon sends,
keeps checkpoints in a DynamoDB table so a restart resumes, and follows resharding (a child
shard starts only after all its parents have been read to their end and checkpointed).
Scale-out is the daemon's job; this is for one machine (the embedded demo, tests).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amazon_kclpy import messages
from botocore.exceptions import ClientError

from common import aws
from common.json_api import transient
from common.retry import Retry, RetryPolicy
from common.settings import ConsumerSettings

log = logging.getLogger(__name__)

SHARD_END = "SHARD_END"
# GetRecords failures a boto3 client would retry: throttling (5 reads/s per shard), 5xx,
# connection; first wait up to 0.1 s doubling to 2 s, full jitter, then the shard stops all
READ_RETRY = RetryPolicy(max_attempts=8, base_s=0.1, cap_s=2.0)
KINESIS_THROTTLING = frozenset({"ProvisionedThroughputExceededException", "KMSThrottlingException"})


class CheckpointStore:
    """Checkpoints per shard in a DynamoDB table `<application>-local-checkpoints`."""

    def __init__(self, client: Any, application: str) -> None:
        self._client = client
        self.table = f"{application}-local-checkpoints"

    def ensure_table(self) -> None:
        try:
            self._client.create_table(
                TableName=self.table,
                AttributeDefinitions=[{"AttributeName": "shard_id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "shard_id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
            self._client.get_waiter("table_exists").wait(TableName=self.table)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceInUseException":
                raise

    def get(self, shard_id: str) -> tuple[str, int] | None:
        item = self._client.get_item(
            TableName=self.table, Key={"shard_id": {"S": shard_id}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return item["sequence_number"]["S"], int(item["sub_sequence_number"]["N"])

    def put(self, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        self._client.put_item(
            TableName=self.table,
            Item={
                "shard_id": {"S": shard_id},
                "sequence_number": {"S": sequence_number},
                "sub_sequence_number": {"N": str(sub_sequence_number)},
            },
        )


class LocalCheckpointer:
    """kclpy's Checkpointer contract: no argument means 'all delivered' (or the shard end)."""

    def __init__(self, store: CheckpointStore, shard_id: str) -> None:
        self._store = store
        self._shard_id = shard_id
        self.delivered: tuple[str, int] | None = None
        self.at_shard_end = False

    def checkpoint(
        self, sequence_number: str | None = None, sub_sequence_number: int | None = None
    ) -> None:
        if sequence_number is None:
            if self.at_shard_end:
                self._store.put(self._shard_id, SHARD_END, 0)
                return
            if self.delivered is None:
                return
            sequence_number, sub_sequence_number = self.delivered
        self._store.put(self._shard_id, sequence_number, sub_sequence_number or 0)


@dataclass
class _Lease:
    shard_id: str
    iterator: str | None
    processor: Any
    checkpointer: LocalCheckpointer


class LocalDriver:
    """Reads every shard in its own thread (as a KCL worker does) until `stop` is set, then
    asks the processors to shut down. One shard's calls stay in one thread, in order; a
    failure (the processor's SystemExit included) stops every shard and is raised by `run`.
    """

    def __init__(
        self,
        kinesis: Any,
        dynamodb: Any,
        stream: str,
        application: str,
        processor_factory: Callable[[], Any],
        *,
        poll_interval_s: float = 0.25,
        max_records: int = 1000,
        shard_refresh_s: float = 10.0,
        reader: Any = None,
        read_retry: RetryPolicy = READ_RETRY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._kinesis = kinesis
        self._reader = reader or kinesis  # GetRecords: a lean client in `driver_for`
        self._read_retry = Retry(read_retry, sleep=sleep)
        self._stream = stream
        self._factory = processor_factory
        self._poll_interval_s = poll_interval_s
        self._max_records = max_records
        self._shard_refresh_s = shard_refresh_s
        self.store = CheckpointStore(dynamodb, application)
        self._leases: dict[str, _Lease] = {}
        self._finished: set[str] = set()
        self._lock = threading.Lock()  # leases, finished shards, the counter, the failure
        self._halt = threading.Event()  # tells every shard thread to shut down
        self._failure: BaseException | None = None
        self._threads: list[threading.Thread] = []
        self.records_delivered = 0

    def run(self, stop: threading.Event) -> None:
        self.store.ensure_table()
        self._halt.clear()
        refreshed = -float("inf")
        try:
            while not stop.is_set() and self._failure is None:
                if time.monotonic() - refreshed >= self._shard_refresh_s:
                    self._take_ready_shards()
                    refreshed = time.monotonic()
                with self._lock:
                    parents_done = bool(self._finished) and not self._leases
                if parents_done:
                    refreshed = -float("inf")  # look for their children at once
                stop.wait(0.1)  # the shard threads read; this one only watches
        finally:
            self._halt.set()
            for thread in self._threads:
                thread.join()
            self._threads.clear()
            self._leases.clear()
        if self._failure is not None:
            raise self._failure

    def _take_ready_shards(self) -> None:
        shards = self._list_shards()
        ended = {s["ShardId"] for s in shards if self._checkpoint_is_end(s["ShardId"])}
        with self._lock:
            self._finished |= ended
            finished, leased = set(self._finished), set(self._leases)
        known = {s["ShardId"] for s in shards}
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in leased or shard_id in finished:
                continue
            parents = [
                p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p
            ]
            if any(p in known and p not in finished for p in parents):
                continue  # read parents to their end first: per-symbol order is kept
            self._open(shard_id)

    def _list_shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamName": self._stream}
        while True:
            page = self._kinesis.list_shards(**kwargs)
            shards += page["Shards"]
            if not page.get("NextToken"):
                return shards
            kwargs = {"NextToken": page["NextToken"]}

    def _checkpoint_is_end(self, shard_id: str) -> bool:
        position = self.store.get(shard_id)
        return position is not None and position[0] == SHARD_END

    def _open(self, shard_id: str) -> None:
        position = self.store.get(shard_id)
        kwargs: dict[str, Any] = {"StreamName": self._stream, "ShardId": shard_id}
        if position:
            kwargs |= {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": position[0],
            }
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        iterator = self._kinesis.get_shard_iterator(**kwargs)["ShardIterator"]
        processor = self._factory()
        checkpointer = LocalCheckpointer(self.store, shard_id)
        messages.InitializeInput(
            {
                "action": "initialize",
                "shardId": shard_id,
                "sequenceNumber": position[0] if position else "TRIM_HORIZON",
                "subSequenceNumber": position[1] if position else 0,
            }
        ).dispatch(checkpointer, processor)
        lease = _Lease(shard_id, iterator, processor, checkpointer)
        thread = threading.Thread(target=self._read, args=(lease,), name=shard_id, daemon=True)
        with self._lock:
            self._leases[shard_id] = lease
        self._threads.append(thread)
        thread.start()
        log.info("local driver took shard %s", shard_id)

    def _read(self, lease: _Lease) -> None:
        """One shard's loop: read again at once after records, wait the poll interval after
        an empty read; on halt, shutdown_requested (flush and checkpoint)."""
        try:
            while not self._halt.is_set():
                delivered = self._poll(lease)
                if lease.iterator is None:
                    return  # shard ended: flushed and checkpointed by shard_ended
                if not delivered:
                    self._halt.wait(self._poll_interval_s)
            messages.ShutdownRequestedInput({"action": "shutdownRequested"}).dispatch(
                lease.checkpointer, lease.processor
            )
        except BaseException as e:  # SystemExit from the processor included: run raises it
            log.error("shard %s stopped the driver: %r", lease.shard_id, e)
            with self._lock:
                self._failure = self._failure or e
            self._halt.set()

    def _get_records(self, lease: _Lease) -> dict[str, Any]:
        """GetRecords, retried as a boto3 client's standard mode would (the lean reader
        does not retry); anything else, or the last failure, stops the driver."""
        page: dict[str, Any] = self._read_retry.call(
            lambda: self._reader.get_records(ShardIterator=lease.iterator, Limit=self._max_records),
            transient=lambda e: transient(e, KINESIS_THROTTLING),
            on_retry=lambda e: log.warning(
                "GetRecords on %s failed (%s); retrying", lease.shard_id, e
            ),
        )
        return page

    def _poll(self, lease: _Lease) -> int:
        page = self._get_records(lease)
        records = [_record_message(r) for r in page["Records"]]
        if records:
            last = page["Records"][-1]
            lease.checkpointer.delivered = (last["SequenceNumber"], 0)
        messages.ProcessRecordsInput(
            {
                "action": "processRecords",
                "records": records,
                "millisBehindLatest": page.get("MillisBehindLatest", 0),
            }
        ).dispatch(lease.checkpointer, lease.processor)
        with self._lock:
            self.records_delivered += len(records)
        lease.iterator = page.get("NextShardIterator")
        if lease.iterator is None:  # a closed shard, read to its end
            lease.checkpointer.at_shard_end = True
            messages.ShardEndedInput({"action": "shardEnded"}).dispatch(
                lease.checkpointer, lease.processor
            )
            with self._lock:
                del self._leases[lease.shard_id]
                self._finished.add(lease.shard_id)
            log.info("shard %s ended", lease.shard_id)
        return len(records)


def driver_for(settings: ConsumerSettings, processor_factory: Callable[[], Any]) -> LocalDriver:
    """A driver on the configured stream, with checkpoints under the KCL application name."""
    return LocalDriver(
        aws.client("kinesis", region=settings.region),
        aws.client("dynamodb", region=settings.region),
        settings.stream_name,
        settings.consumer_application,
        processor_factory,
        poll_interval_s=settings.consumer_poll_ms / 1000,
        max_records=settings.consumer_max_records,
        reader=aws.kinesis_reader(region=settings.region),
    )


@dataclass(frozen=True, slots=True)
class DriverRecord:
    """A record as kclpy's `messages.Record` presents it to a processor (the same attribute
    names), built straight from GetRecords: kclpy's would base64-encode the data only for
    the processor to decode it again, and parse the arrival time into a local datetime that
    nothing reads (docs/performance.md)."""

    binary_data: bytes
    partition_key: str
    sequence_number: str
    sub_sequence_number: int
    timestamp_millis: int


def _record_message(record: dict[str, Any]) -> DriverRecord:
    arrival = record.get("ApproximateArrivalTimestamp")
    return DriverRecord(
        record["Data"],
        record["PartitionKey"],
        record["SequenceNumber"],
        0,
        int(arrival.timestamp() * 1000) if arrival else 0,
    )
