"""The durable lake writer: group commit.

Group commit: each request enqueues its row and awaits the flush that covers it. A flush hands
everything queued to a worker thread, which makes it durable through a `BatchSink`, then wakes
every waiter. While a flush is on disk, new rows queue up for the next one, so under load many
requests share a single fsync and durability costs little; at low load a flush starts at once.
The receiver's sink is the write-ahead log (`ingest.wal.WalLake`: one synchronous append per
flush, Parquet published off the request path); `ParquetBatchFiles` is a sink too (one
atomically published Parquet file per flush). The benchmark's baselines (no persistence,
fsync per request) live in benchmarks/baseline_writers.py, not in the product.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import itertools
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, Generic, Protocol, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.fsops import FileOps, probe_writable, publish_atomically, temp_name
from ingest.lake_schema import partition_day, partition_dir

log = logging.getLogger("ingest.lake")


class _Dated(Protocol):
    @property
    def recebido_em(self) -> datetime: ...


Row = TypeVar("Row", bound=_Dated)
RowIn = TypeVar("RowIn", bound=_Dated, contravariant=True)

#: Called after every flush attempt with (seconds, rows, succeeded).
FlushObserver = Callable[[float, int, bool], None]


class PersistenceError(Exception):
    """The rows could not be made durable; the request must not be acknowledged."""


class BatchSink(Protocol[RowIn]):
    """Where group commit makes batches durable. `write` runs in a worker thread and returns
    only once the rows are on stable storage; `open`/`close` are blocking, run once each."""

    table: str

    def open(self) -> None: ...

    def write(self, rows: Sequence[RowIn]) -> object: ...

    def idle(self) -> None: ...

    def close(self) -> None: ...

    def check_writable(self) -> None: ...

    def backlog(self) -> int: ...


class BatchFiles(BatchSink[RowIn], Protocol[RowIn]):
    """A sink whose every `write` is already finished, visible lake files (no log to
    publish): the local `ParquetBatchFiles` and the object store's `ObjectBatchFiles`."""

    def warm_up(self) -> None: ...


class LakeWriter(Protocol[RowIn]):
    """What the app needs from a writer: `write` returns only once the row is durable."""

    durable: bool

    async def start(self) -> None: ...

    async def write(self, row: RowIn) -> None: ...

    async def close(self) -> None: ...

    def check_writable(self) -> None: ...

    def pending(self) -> int: ...

    def backlog(self) -> int: ...


def safe_instance_id(value: str) -> str:
    """File-name-safe instance id that never starts with `.` or `_` (which readers skip)."""
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "-", value).lstrip(".-_") or "receiver"
    return cleaned[:64]


def _write_parquet(table: pa.Table, f: BinaryIO) -> None:
    # Serialise natively (no GIL round trip per page), then hand the file one buffer.
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy")
    f.write(sink.getvalue())


class ParquetBatchFiles(Generic[Row]):
    """Writes a batch of rows as one atomically published Parquet file per day partition."""

    def __init__(
        self,
        root: Path,
        table: str,
        to_arrow: Callable[[list[Row]], pa.Table],
        instancia: str,
        ops: FileOps | None = None,
    ) -> None:
        self.root = Path(root)
        self.table = table
        self.to_arrow = to_arrow
        self.prefix = safe_instance_id(instancia)
        self.ops = ops or FileOps()
        # Microseconds since the epoch, then +1 per file: monotonic across restarts too.
        self._seq = itertools.count(time.time_ns() // 1000)

    def next_name(self) -> str:
        return f"{self.prefix}-{next(self._seq):017d}-{uuid.uuid4().hex[:12]}.parquet"

    def write(self, rows: Sequence[Row]) -> list[Path]:
        """One new file per day partition of `rows`."""
        return self._publish(rows, None)

    def publish(self, rows: Sequence[Row], stem: str) -> list[Path]:
        """`<stem>.parquet` in each day partition of `rows`, skipping one that already exists
        (published before a crash): calling it again with the same rows adds nothing."""
        return self._publish(rows, stem)

    def _publish(self, rows: Sequence[Row], stem: str | None) -> list[Path]:
        by_day: dict[date, list[Row]] = {}
        for row in rows:
            by_day.setdefault(partition_day(row.recebido_em), []).append(row)
        written = []
        for day, day_rows in by_day.items():
            folder = partition_dir(self.root, self.table, day)
            name = self.next_name() if stem is None else f"{stem}.parquet"
            if stem is not None:
                if (folder / name).exists():
                    continue
                # A crash mid-publish left this name's temp file; the caller holds the
                # segment's lock, so nobody else can be writing it.
                with contextlib.suppress(FileNotFoundError):
                    self.ops.unlink(folder / temp_name(name))
            written.append(
                publish_atomically(
                    self.ops,
                    folder,
                    name,
                    functools.partial(_write_parquet, self.to_arrow(day_rows)),
                )
            )
        return written

    # As a `BatchSink` (every write is already a published file):
    def open(self) -> None:
        self.warm_up()

    def idle(self) -> None:
        return None

    def close(self) -> None:
        return None

    def backlog(self) -> int:
        return 0

    def check_writable(self) -> None:
        probe_writable(self.ops, self.root / self.table)

    def warm_up(self) -> None:
        """Pay Parquet's one-off codec/initialisation cost before the first request does."""
        _write_parquet(self.to_arrow([]), io.BytesIO())


@dataclass(slots=True)
class _Job(Generic[Row]):
    """One flush handed to a flusher thread; `done` resolves on the loop when it is answered."""

    rows: list[Row]
    batch: list[tuple[Row, asyncio.Future[None]]]
    started: float
    done: asyncio.Future[None]


class GroupCommitWriter(Generic[Row]):
    """Group commit: concurrent writes share one flush; each waits for the one covering it.

    A batch is flushed as soon as one of these holds: nobody else is about to enqueue
    (`undecided()` is 0, e.g. an isolated request, or every request in the app is waiting),
    `target_rows` rows are queued, or the oldest queued row has waited `max_delay` seconds.
    Up to `max_concurrent` flushes run at once (the receiver's WAL takes one: it is a single
    log, and what queues during an append becomes the next batch). When the last flush ends
    with nothing queued, the sink is told it is idle (the WAL then publishes to Parquet).
    """

    durable = True

    def __init__(
        self,
        sink: BatchSink[Row],
        on_flush: FlushObserver | None = None,
        *,
        max_delay: float = 0.010,
        target_rows: int = 32,
        max_batch: int = 10_000,
        max_concurrent: int = 4,
        undecided: Callable[[], int] | None = None,
    ) -> None:
        self.sink = sink
        self.on_flush = on_flush
        self.max_delay = max_delay
        self.target_rows = target_rows
        self.max_batch = max_batch
        self.max_concurrent = max_concurrent
        self.undecided = undecided or (lambda: 0)
        self._pending: list[tuple[Row, asyncio.Future[None]]] = []
        self._oldest = 0.0
        self._check_scheduled = False
        self._in_flush = 0
        self._flushes: set[asyncio.Future[None]] = set()
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop  # set by start(), before any write
        # Dedicated flusher threads fed by a queue, answering through call_soon_threadsafe:
        # measured cheaper per flush than an executor's future chain under GIL contention.
        self._jobs: queue.SimpleQueue[_Job[Row] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._flusher, name=f"lake-{sink.table}-{i}", daemon=True)
            for i in range(max_concurrent)
        ]

    async def start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.sink.open)
        for thread in self._threads:
            thread.start()
        self._task = loop.create_task(self._run())

    async def write(self, row: Row) -> None:
        if self._closing or self._task is None or self._task.done():
            raise PersistenceError("the lake writer is not running")
        fut: asyncio.Future[None] = self._loop.create_future()
        if not self._pending:
            self._oldest = time.perf_counter()
        self._pending.append((row, fut))
        if len(self._pending) >= self.target_rows and len(self._flushes) < self.max_concurrent:
            # A full batch starts flushing right here, so its fsync overlaps the requests
            # still queued on the event loop instead of waiting for them.
            self._submit()
        elif not self._check_scheduled:
            # Decide after the requests already runnable in this loop iteration have had
            # their turn (call_soon runs in the next iteration): they may join this batch.
            self._check_scheduled = True
            self._loop.call_soon(self._check)
        await fut

    def _check(self) -> None:
        self._check_scheduled = False
        if self._pending:
            if len(self._flushes) < self.max_concurrent and self._due() <= 0:
                self._submit()
            else:
                self._wakeup.set()  # the flusher task waits for the delay or a free slot

    def _due(self) -> float:
        """Seconds until the queued rows must be flushed (<= 0: now)."""
        if self._closing or len(self._pending) >= self.target_rows:
            return 0.0
        if not self._flushes and self.undecided() <= 0:
            return 0.0  # idle disk and nobody else coming: no reason to wait
        return self._oldest + self.max_delay - time.perf_counter()

    async def _run(self) -> None:
        """Flushes what `write` did not: rows whose delay expired, and rows held back while
        `max_concurrent` flushes were already running."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                if len(self._flushes) >= self.max_concurrent:
                    await asyncio.wait(self._flushes, return_when=asyncio.FIRST_COMPLETED)
                    continue
                wait = self._due()
                if wait > 0:
                    self._wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), wait)
                    continue
                self._submit()
            if self._closing:
                if self._flushes:
                    await asyncio.wait(self._flushes)
                if not self._pending:
                    return

    def _submit(self) -> None:
        """Hand the oldest queued rows (up to `max_batch`) to a flusher thread now."""
        batch = self._pending[: self.max_batch]
        del self._pending[: self.max_batch]
        if self._pending:
            self._oldest = time.perf_counter()
        rows = [row for row, _ in batch]
        self._in_flush += len(rows)
        done = self._loop.create_future()
        self._flushes.add(done)
        self._jobs.put(_Job(rows, batch, time.perf_counter(), done))

    def _flusher(self) -> None:
        """A flusher thread: make each job's rows durable, then hand the outcome to the loop."""
        while (job := self._jobs.get()) is not None:
            try:
                outcome = self._flush(job.rows)
            except BaseException as exc:  # never leave the batch's requests waiting
                outcome = [RuntimeError(f"flush did not run: {exc!r}")] * len(job.rows)
            self._loop.call_soon_threadsafe(self._finish, job, outcome)

    def _finish(self, job: _Job[Row], outcome: list[Exception | None]) -> None:
        batch, started = job.batch, job.started
        job.done.set_result(None)
        self._flushes.discard(job.done)
        self._in_flush -= len(batch)
        failed = sum(e is not None for e in outcome)
        if failed:
            log.error(
                "lake flush failed",
                extra={
                    "tabela": self.sink.table,
                    "linhas": len(batch),
                    "falhas": failed,
                    "erro": repr(next(e for e in outcome if e is not None)),
                },
            )
        if self.on_flush is not None:
            self.on_flush(time.perf_counter() - started, len(batch), not failed)
        for (_, fut), err in zip(batch, outcome, strict=True):
            if fut.done():  # the request was cancelled (client went away)
                continue
            if err is None:
                fut.set_result(None)
            else:
                fut.set_exception(PersistenceError(f"flush failed: {err!r}"))
        if self._pending:
            if not self._flushes:
                # Classic group commit: what queued up during the last flush goes now.
                self._submit()
            else:
                self._wakeup.set()  # a flusher slot is free again
        elif not self._flushes:
            self.sink.idle()

    def _flush(self, rows: list[Row]) -> list[Exception | None]:
        """Write a batch (worker thread); the per-row outcome is what each waiter gets."""
        try:
            self.sink.write(rows)
            return [None] * len(rows)
        except OSError as exc:  # the disk: nobody in this batch is durable
            return [exc] * len(rows)
        except Exception as exc:
            if len(rows) == 1:
                return [exc]
        # A row the lake cannot encode must not fail the others: write them one by one.
        outcome: list[Exception | None] = []
        for row in rows:
            try:
                self.sink.write([row])
                outcome.append(None)
            except Exception as exc:
                outcome.append(exc)
        return outcome

    def pending(self) -> int:
        """Rows accepted for writing but not yet answered."""
        return len(self._pending) + self._in_flush

    async def close(self) -> None:
        """Flush everything queued, then stop. Idempotent."""
        if self._closing:
            return
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        if self._flushes:
            await asyncio.wait(self._flushes)
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            if thread.is_alive():
                await asyncio.to_thread(thread.join)
        await asyncio.to_thread(self.sink.close)

    def check_writable(self) -> None:
        self.sink.check_writable()

    def backlog(self) -> int:
        return self.sink.backlog()
