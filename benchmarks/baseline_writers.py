"""The receiver benchmark's baselines, kept out of the product: a writer that makes every
request durable on its own (fsync per request, the naive design group commit is measured
against) and one that stores nothing (the request path's ceiling, NOT durable).

They plug into `ingest.app.create_app(settings, writer_for=...)`, the seam the receiver
offers for exactly this; `benchmarks/serve_variant.py` serves them like `serve` does.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic

from ingest.lake_writer import BatchFiles, FlushObserver, LakeWriter, PersistenceError, Row


class FsyncPerRequestWriter(Generic[Row]):
    """The naive durable baseline: every request writes and fsyncs its own file (benchmarks)."""

    durable = True

    def __init__(
        self,
        files: BatchFiles[Row],
        on_flush: FlushObserver | None = None,
        threads: int = 64,
    ) -> None:
        self.files = files
        self.on_flush = on_flush
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix=f"naive-{files.table}")
        self._in_flight = 0

    def pending(self) -> int:
        return self._in_flight

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self.files.warm_up)

    async def write(self, row: Row) -> None:
        started = time.perf_counter()
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._executor, self.files.write, [row]
            )
        except Exception as exc:
            if self.on_flush is not None:
                self.on_flush(time.perf_counter() - started, 1, False)
            raise PersistenceError(f"write failed: {exc!r}") from exc
        finally:
            self._in_flight -= 1
        if self.on_flush is not None:
            self.on_flush(time.perf_counter() - started, 1, True)

    async def close(self) -> None:
        self._executor.shutdown(wait=True)

    def check_writable(self) -> None:
        self.files.check_writable()

    def backlog(self) -> int:
        return 0


class DiscardingWriter(Generic[Row]):
    """NOT DURABLE: accepts and drops rows. Only for the benchmark's validation-only ceiling."""

    durable = False

    async def start(self) -> None:
        return None

    async def write(self, row: Row) -> None:
        return None

    def pending(self) -> int:
        return 0

    def backlog(self) -> int:
        return 0

    async def close(self) -> None:
        return None

    def check_writable(self) -> None:
        return None


def writer_for(mode: str) -> Any:
    """`create_app`'s writer factory for a baseline mode: `off` or `fsync-per-request`."""

    def make(files: BatchFiles[Any], observer: FlushObserver) -> LakeWriter[Any]:
        if mode == "off":
            return DiscardingWriter()
        if mode == "fsync-per-request":
            return FsyncPerRequestWriter(files, observer)
        raise ValueError(f"unknown baseline mode {mode!r}")

    return make
