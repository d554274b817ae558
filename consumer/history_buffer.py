"""The cold path's buffer: history rows of one shard held until a size or age bound.

Rows arrive already written to the hot path (DynamoDB); the buffer only decides when they
become one Parquet object per date. It also remembers the position of the last record it
covers, which is the only position the processor may checkpoint (docs/consumer.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from consumer.batch import Batch, DeadLetter


@dataclass
class HistoryBuffer:
    """Batches since the last cold flush; `due` when `max_bytes` or `max_age_s` is reached."""

    shard_id: str
    max_bytes: int
    max_age_s: float
    frames: list[pl.DataFrame] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    size_bytes: int = 0
    records: int = 0
    opened_at: float | None = None
    last_position: tuple[str, int] | None = None

    def add(self, batch: Batch, records: int, now: float) -> None:
        """Keep a batch's rows and dead letters; the buffer ages from its first record."""
        if self.opened_at is None:
            self.opened_at = now
        if batch.ticks.height:
            self.frames.append(batch.ticks)
            self.size_bytes += int(batch.ticks.estimated_size())
        self.dead_letters += batch.dead_letters
        self.size_bytes += sum(len(d.data) + len(d.reason) for d in batch.dead_letters)
        self.records += records
        self.last_position = (batch.last_sequence_number, batch.last_sub_sequence_number)

    def due(self, now: float) -> bool:
        if self.opened_at is None:
            return False
        return self.size_bytes >= self.max_bytes or now - self.opened_at >= self.max_age_s

    def take(self) -> Batch | None:
        """Everything buffered as one batch (ticks de-duplicated by id), and an empty buffer."""
        if self.last_position is None:
            return None
        ticks = pl.concat(self.frames, how="vertical") if self.frames else pl.DataFrame()
        if len(self.frames) > 1:  # a producer retry may span two GetRecords batches
            ticks = ticks.unique("id", keep="first", maintain_order=True)
        batch = Batch(self.shard_id, ticks, self.dead_letters, *self.last_position)
        self.clear()
        return batch

    def clear(self) -> None:
        self.frames, self.dead_letters = [], []
        self.size_bytes = self.records = 0
        self.opened_at = self.last_position = None
