"""The lake on S3-compatible object storage: one create-only Parquet object per flush.

The group commit (`ingest.lake_writer.GroupCommitWriter`) hands a batch to `ObjectBatchFiles`,
which PUTs one whole Parquet object per day partition with `If-None-Match: *` and returns only
when the store has acknowledged it; only then are the batch's requests answered 201. The
receiver keeps nothing locally: no write-ahead log, nothing to publish after a crash, so a
host may vanish after any 201. Names carry the instance, a monotonic sequence and a random
suffix, so receivers on many hosts never collide, and a create-only PUT never overwrites.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Generic

import pyarrow as pa
import pyarrow.parquet as pq
from obstore.store import S3Store

from ingest.lake_schema import partition_day, partition_name
from ingest.lake_writer import Row, safe_instance_id
from ingest.object_store import delete, put_new

#: Hidden folder (readers skip `_…`) where `/readyz` probes the store's write path.
PROBE_DIR = "_sonda"


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy")
    return bytes(sink.getvalue())


class ObjectBatchFiles(Generic[Row]):
    """A `BatchSink` writing each batch as new objects `<table>/dt=…/<name>.parquet`."""

    def __init__(
        self,
        store: S3Store,
        table: str,
        to_arrow: Callable[[list[Row]], pa.Table],
        instancia: str,
    ) -> None:
        self.store = store
        self.table = table
        self.to_arrow = to_arrow
        self.prefix = safe_instance_id(instancia)
        self._seq = itertools.count(time.time_ns() // 1000)

    def next_name(self) -> str:
        return f"{self.prefix}-{next(self._seq):017d}-{uuid.uuid4().hex[:12]}.parquet"

    def write(self, rows: Sequence[Row]) -> list[str]:
        """One new object per day partition of `rows`; returns their keys once all are
        acknowledged. A failure raises OSError (the batch is not acknowledged; objects
        already written for other days stay: a retried delivery is a duplicate row, which
        the warehouse collapses)."""
        by_day: dict[date, list[Row]] = {}
        for row in rows:
            by_day.setdefault(partition_day(row.recebido_em), []).append(row)
        keys = []
        for day, day_rows in by_day.items():
            data = parquet_bytes(self.to_arrow(day_rows))
            key = f"{self.table}/{partition_name(day)}/{self.next_name()}"
            put_new(self.store, key, data)
            keys.append(key)
        return keys

    # As a `BatchSink`: every write is already a finished, visible object.
    def open(self) -> None:
        self.warm_up()

    def warm_up(self) -> None:
        """Pay Parquet's one-off initialisation cost before the first request does."""
        parquet_bytes(self.to_arrow([]))

    def idle(self) -> None:
        return None

    def close(self) -> None:
        return None

    def backlog(self) -> int:
        return 0

    def check_writable(self) -> None:
        """Raise OSError unless a create-only PUT and a DELETE succeed right now."""
        key = f"{self.table}/{PROBE_DIR}/{self.prefix}-{uuid.uuid4().hex}.tmp"
        put_new(self.store, key, b"ok")
        delete(self.store, key)
