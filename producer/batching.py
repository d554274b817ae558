"""Split records into PutRecords calls that respect the Kinesis API limits.

Pure: no clients, no clocks, so every limit is tested exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
MAX_BYTES_PER_RECORD = 1024 * 1024  # data plus partition key, as Kinesis counts it


@dataclass(frozen=True, slots=True)
class Entry:
    """One PutRecords entry; Kinesis counts the partition key's bytes against the limits."""

    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode())


class RecordTooLarge(ValueError):
    """An entry that no PutRecords call may carry."""


def batches(
    entries: Iterable[Entry],
    *,
    max_records: int = MAX_RECORDS_PER_CALL,
    max_bytes: int = MAX_BYTES_PER_CALL,
) -> Iterator[list[Entry]]:
    """Yield consecutive groups of entries, each fitting one PutRecords call, order kept."""
    batch: list[Entry] = []
    batch_bytes = 0
    for entry in entries:
        size = entry.size
        if size > MAX_BYTES_PER_RECORD:
            raise RecordTooLarge(f"record of {size} bytes exceeds {MAX_BYTES_PER_RECORD}")
        if batch and (len(batch) == max_records or batch_bytes + size > max_bytes):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(entry)
        batch_bytes += size
    if batch:
        yield batch
