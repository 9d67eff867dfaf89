"""The receiver's write-ahead log: a flushed batch is durable after one synchronous append.

Group commit appends each batch to the active *segment* of `lake/<table>/_wal/` as one
checksummed frame, in one O_DSYNC write (durable when it returns); only then are the batch's
requests answered 201. A publisher thread turns segments into Parquet a moment later, off the
request path (`WalLake`): when the receiver goes idle, when the active segment is
`publish_after` seconds old, or when it is full. Under load that is one Parquet file a second
instead of one per flush, and a flush costs one syscall instead of an Arrow conversion, a
Parquet encoding and eight syscalls.

Exactly once, across crashes:
- A segment is created under a hidden temp name, `flock`ed, given its header (durably), then
  renamed into place (and the folder fsync'd), so every visible segment is locked by a live
  writer or is an orphan: the lock dies with its process, even on kill -9.
- A segment's Parquet files are named after it (`<segment>.parquet` in each `dt=` folder) and
  published atomically; publishing skips a name that already exists, and the segment is
  unlinked only after. Re-publishing after a crash at any point adds nothing twice.
- A segment nobody holds (its receiver died) is *adopted*: published, then unlinked, by the
  next receiver to start on the lake, by every live receiver on it (another worker or
  instance) within `adopt_every` seconds, and by each receiver as it stops.
- A torn tail (a crash mid-append) fails its length or CRC check and is dropped: no request
  of that batch was answered, as its write had not returned. After a failed append the
  segment is never appended to again; should that batch (answered 503) have reached the disk
  whole anyway, a crash recovery publishes it: an extra delivery row, which the lake allows
  (CCEE re-sends a 503'd notification; counting once is the warehouse's job), never a loss.

The `_wal` folder starts with `_`, which every lake reader skips (`dt=*` folders only).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import msgspec

from ingest.fsops import FileOps, probe_writable, temp_name

log = logging.getLogger("ingest.wal")

WAL_DIR = "_wal"
SUFFIX = ".wal"
MAGIC = b"CCEEWAL1"
_FRAME = struct.Struct("<II")  # payload length, CRC-32 of the payload
TEMP_GRACE = 30.0  # seconds: a half-created segment younger than this may still be in creation

Row = TypeVar("Row")
RowIn = TypeVar("RowIn", contravariant=True)


class PublishesParquet(Protocol[RowIn]):
    """What `WalLake` needs from the Parquet side (`ParquetBatchFiles`)."""

    root: Path
    table: str
    ops: FileOps

    def next_name(self) -> str: ...

    def publish(self, rows: Sequence[RowIn], stem: str) -> list[Path]: ...

    def warm_up(self) -> None: ...

    def check_writable(self) -> None: ...


def frame(payload: bytes) -> bytes:
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def read_frames(data: bytes) -> tuple[list[bytes], int]:
    """Payloads of the whole, intact frames of a segment, and the bytes they span.

    Stops at the first short or corrupt frame: what follows was never acknowledged."""
    if not data.startswith(MAGIC):
        return [], 0
    payloads, pos = [], len(MAGIC)
    while pos + _FRAME.size <= len(data):
        size, crc = _FRAME.unpack_from(data, pos)
        start, end = pos + _FRAME.size, pos + _FRAME.size + size
        if end > len(data) or zlib.crc32(data[start:end]) != crc:
            break
        payloads.append(data[start:end])
        pos = end
    return payloads, pos


def _lock(fd: int) -> bool:
    """Take the segment's exclusive lock without waiting; False if a live writer holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def unpublished_bytes(lake: Path) -> int:
    """WAL bytes holding acknowledged rows not yet in Parquet, over every table of a lake
    (any process's). 0 means every delivery answered 201 so far is readable as Parquet."""
    total = 0
    for path in lake.glob(f"*/{WAL_DIR}/*{SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            total += max(0, path.stat().st_size - len(MAGIC))
    return total


class Segment(Generic[Row]):
    """One open (O_DSYNC), locked segment file and the rows made durable in it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.rows: list[Row] = []
        self.size = len(MAGIC)
        self.first_append = 0.0  # monotonic time of the first durable row (0: none yet)

    @property
    def stem(self) -> str:
        return self.path.name.removesuffix(SUFFIX)


class WalLake(Generic[Row]):
    """The group-commit sink: durable appends now, Parquet publication shortly after.

    `write` is called from the group commit's flusher threads; `idle` from the event loop.
    Everything else runs in the publisher thread, started by `open` and drained by `close`.
    """

    def __init__(
        self,
        files: PublishesParquet[Row],
        row_type: type[Row],
        *,
        publish_after: float = 1.0,
        seal_rows: int = 50_000,
        seal_bytes: int = 64 * 1024 * 1024,
        retry_after: float = 1.0,
        adopt_every: float = 5.0,
        on_publish: Callable[[int, bool], None] | None = None,
    ) -> None:
        self.files = files
        self.table = files.table
        self.ops: FileOps = files.ops
        self.dir = files.root / files.table / WAL_DIR
        self.publish_after = publish_after
        self.seal_rows = seal_rows
        self.seal_bytes = seal_bytes
        self.retry_after = retry_after
        self.adopt_every = adopt_every
        self.on_publish = on_publish
        self._encode = msgspec.msgpack.Encoder().encode
        self._decoder = msgspec.msgpack.Decoder(list[row_type])  # type: ignore[valid-type]
        self._lock = threading.Lock()  # the active segment; held across the durable append
        self._active: Segment[Row] | None = None
        self._spare: Segment[Row] | None = None  # created ahead, so a request never waits on it
        self._sealed: deque[Segment[Row]] = deque()
        self._unpublished = 0  # durable rows not yet in Parquet
        self._wake = threading.Event()
        self._idle_hint = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._publish_error: str | None = None
        self._adopt_due = 0.0  # when the publisher next looks for orphaned segments

    # -- the request path (flusher threads) --------------------------------------------------

    def write(self, rows: Sequence[Row]) -> None:
        """Append `rows` as one frame; returns only once they are durable (O_DSYNC write)."""
        data = frame(self._encode(list(rows)))
        with self._lock:
            seg = self._active or self._take_spare()
            self._active = seg
            try:
                self.ops.append_durably(seg.fd, data)
            except BaseException:
                # The segment's tail is unknown now (a partial frame, or pages the kernel may
                # have dropped): never append to it again. Its durable rows still get published.
                self._active = None
                self._sealed.append(seg)
                self._wake.set()
                raise
            seg.size += len(data)
            seg.rows.extend(rows)
            seg.first_append = seg.first_append or time.monotonic()
            self._unpublished += len(rows)
            if len(seg.rows) >= self.seal_rows or seg.size >= self.seal_bytes:
                self._active = None
                self._sealed.append(seg)
                self._wake.set()

    def _take_spare(self) -> Segment[Row]:
        seg, self._spare = self._spare, None
        if seg is None:
            seg = self._create_segment()
        self._wake.set()  # the publisher prepares the next spare
        return seg

    def _create_segment(self) -> Segment[Row]:
        """A new, locked, durable, visible segment holding only the header."""
        self.ops.makedirs(self.dir)
        path = self.dir / (self.files.next_name().removesuffix(".parquet") + SUFFIX)
        tmp = self.dir / temp_name(path.name)
        fd = self.ops.open_log(tmp)
        try:
            if not _lock(fd):  # a brand-new name: nobody else can hold it
                raise OSError(f"could not lock new WAL segment {tmp.name}")
            self.ops.append_durably(fd, MAGIC)
            self.ops.rename(tmp, path)
            self.ops.fsync_dir(self.dir)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                self.ops.unlink(tmp)
            raise
        return Segment(path, fd)

    def idle(self) -> None:
        """No request is waiting on the lake: publish what is durable now (a hint, lock-free)."""
        self._idle_hint = True
        self._wake.set()

    def backlog(self) -> int:
        """Rows acknowledged (durable in the WAL) but not yet in the lake's Parquet files."""
        return self._unpublished

    def publish_error(self) -> str | None:
        """The last publication failure, while it lasts (None once publishing works again)."""
        return self._publish_error

    # -- lifecycle -----------------------------------------------------------------------------

    def open(self) -> None:
        """Publish orphaned segments (left by a crash), then start the publisher thread."""
        self.ops.makedirs(self.dir)
        self.files.warm_up()
        self.recover()
        self._adopt_due = time.monotonic() + self.adopt_every
        self._thread = threading.Thread(
            target=self._publisher, name=f"wal-{self.table}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Publish every durable row, then stop; the WAL folder is left empty. Idempotent."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            leftover = [s for s in (self._active, *self._sealed) if s is not None]
            self._active = None
            self._sealed.clear()
            spare, self._spare = self._spare, None
        for seg in leftover:  # only when publishing kept failing up to the end
            if not seg.rows:
                with contextlib.suppress(OSError):  # else the next start removes it
                    self._discard(seg)
                continue
            log.error(
                "WAL segment left unpublished; it will be published at the next start",
                extra={"tabela": self.table, "segmento": seg.path.name, "linhas": len(seg.rows)},
            )
            os.close(seg.fd)
        if spare is not None:
            with contextlib.suppress(OSError):  # else the next start removes it
                self._discard(spare)
        # Last, what receivers that died on this lake left (a restart may never come).
        try:
            self.recover()
        except OSError as exc:  # the folder itself is unreadable: the next start retries
            log.error(
                "could not look for WAL segments left by other receivers",
                extra={"tabela": self.table, "erro": repr(exc)},
            )

    def check_writable(self) -> None:
        self.files.check_writable()
        probe_writable(self.ops, self.dir)

    # -- the publisher thread ------------------------------------------------------------------

    def _publisher(self) -> None:
        while True:
            try:
                if self._publisher_pass():
                    return
            except Exception as exc:  # never let publication stop for good; rows stay durable
                log.exception("WAL publisher error; retrying", extra={"erro": repr(exc)})
                if self._closing:
                    return  # what is left is published at the next start
                self._wake.wait(self.retry_after)

    def _publisher_pass(self) -> bool:
        """Publish what is due, then wait for the next reason to; True when closed."""
        while True:
            self._wake.clear()
            timeout = self._seal_due()
            failed = not self._publish_sealed()
            if self._closing and (failed or self._nothing_left()):
                return True
            if not self._closing and time.monotonic() >= self._adopt_due:
                self._adopt_due = time.monotonic() + self.adopt_every
                self.recover()  # segments of a receiver that died while this one runs
            if self._spare is None and not self._closing and not failed:
                self._prepare_spare()
            if failed:
                timeout = min(timeout or self.retry_after, self.retry_after)
            until_adopt = max(0.0, self._adopt_due - time.monotonic())
            self._wake.wait(until_adopt if timeout is None else min(timeout, until_adopt))

    def _seal_due(self) -> float | None:
        """Seal the active segment if it is due; else seconds until it will be (None: never)."""
        idle, self._idle_hint = self._idle_hint, False
        with self._lock:
            seg = self._active
            if seg is None or not seg.rows:
                return None
            age = time.monotonic() - seg.first_append
            if self._closing or idle or age >= self.publish_after:
                self._active = None
                self._sealed.append(seg)
                return None
            return self.publish_after - age

    def _nothing_left(self) -> bool:
        with self._lock:
            return not self._sealed and (self._active is None or not self._active.rows)

    def _publish_sealed(self) -> bool:
        """Publish sealed segments oldest first; False if one failed (it is retried later)."""
        while True:
            with self._lock:
                if not self._sealed:
                    return True
                seg = self._sealed[0]
            started = time.perf_counter()
            try:
                self.files.publish(seg.rows, seg.stem)
            except Exception as exc:
                self._publish_error = f"{type(exc).__name__}: {exc}"
                log.error(
                    "publishing a WAL segment to Parquet failed; its rows stay durable in the "
                    "WAL and it is retried",
                    extra={"tabela": self.table, "segmento": seg.path.name, "erro": repr(exc)},
                )
                if self.on_publish is not None:
                    self.on_publish(len(seg.rows), False)
                return False
            with self._lock:
                self._sealed.popleft()
                self._unpublished -= len(seg.rows)
            self._publish_error = None
            if self.on_publish is not None:
                self.on_publish(len(seg.rows), True)
            try:
                self._discard(seg)
            except OSError as exc:  # harmless: a later recovery finds its Parquet files exist
                log.warning(
                    "could not remove a published WAL segment",
                    extra={"tabela": self.table, "segmento": seg.path.name, "erro": repr(exc)},
                )
            log.debug(
                "WAL segment published",
                extra={
                    "tabela": self.table,
                    "linhas": len(seg.rows),
                    "ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )

    def _prepare_spare(self) -> None:
        try:
            seg = self._create_segment()
        except OSError as exc:  # the request path will try again itself, and report it
            log.warning("could not prepare a WAL segment", extra={"erro": repr(exc)})
            return
        with self._lock:
            if self._spare is None and not self._closing:
                self._spare, seg = seg, None  # type: ignore[assignment]
        if seg is not None:
            with contextlib.suppress(OSError):  # else the next start removes it
                self._discard(seg)

    def _discard(self, seg: Segment[Row]) -> None:
        """Remove a segment whose rows are all in Parquet (unlink while still locked)."""
        try:
            self.ops.unlink(seg.path)
            self.ops.fsync_dir(self.dir)
        finally:
            os.close(seg.fd)

    # -- crash recovery ------------------------------------------------------------------------

    def recover(self) -> int:
        """Publish every orphaned segment (no live lock) in this table's WAL; returns rows."""
        if not self.dir.is_dir():
            return 0
        rows = segments = 0
        for entry in sorted(os.listdir(self.dir)):
            path = self.dir / entry
            try:
                if entry.endswith(SUFFIX):
                    n = self._recover_one(path)
                    if n is not None:
                        rows, segments = rows + n, segments + 1
                elif entry.startswith(".") and entry.endswith(SUFFIX + ".tmp"):
                    self._remove_dead_temp(path)
            except Exception as exc:  # the disk, or a segment this version cannot read
                # Receiving goes on meanwhile; the publisher's next adoption pass retries it.
                log.error(
                    "could not publish a WAL segment left by a receiver that died; it stays "
                    "durable and is retried",
                    extra={"tabela": self.table, "segmento": entry, "erro": repr(exc)},
                )
        if segments:
            log.warning(
                "published rows left in the WAL by a receiver that died",
                extra={"tabela": self.table, "segmentos": segments, "linhas": rows},
            )
        return rows

    def _recover_one(self, path: Path) -> int | None:
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None  # published and removed by its owner meanwhile
        with f:
            if not _lock(f.fileno()):
                return None  # a live receiver is writing it
            try:
                if os.fstat(f.fileno()).st_ino != path.stat().st_ino:
                    return None
            except FileNotFoundError:
                return None  # its owner removed it between our open and our lock
            payloads, _ = read_frames(f.read())
            rows: list[Row] = []
            for payload in payloads:
                rows.extend(self._decoder.decode(payload))
            self.files.publish(rows, path.name.removesuffix(SUFFIX))
            self.ops.unlink(path)
            self.ops.fsync_dir(self.dir)
            return len(rows)

    def _remove_dead_temp(self, path: Path) -> None:
        """A segment whose creation a crash interrupted: it never held an acknowledged row.

        A live receiver's temp is unlocked for an instant between its creation and its lock:
        one younger than `TEMP_GRACE` seconds is left for a later pass."""
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return
        with f:
            if time.time() - os.fstat(f.fileno()).st_mtime < TEMP_GRACE:
                return
            if _lock(f.fileno()):
                with contextlib.suppress(FileNotFoundError):
                    self.ops.unlink(path)
