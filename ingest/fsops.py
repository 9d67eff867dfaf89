"""Atomic, durable file publication (temp file, fsync, rename, fsync dir) behind one seam.

`FileOps` is the only object that touches the disk for the lake, so tests can substitute a
subclass that fails like a full or broken disk would (a real seam, not a mock of the app).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


class FileOps:
    """POSIX file operations used by the lake writers."""

    def makedirs(self, path: Path) -> bool:
        """Create `path` (and parents); True when it had to be created."""
        if path.is_dir():
            return False
        path.mkdir(parents=True, exist_ok=True)
        return True

    def open_new(self, path: Path) -> BinaryIO:
        """Open a new file exclusively for writing (never clobbers an existing one)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        return os.fdopen(fd, "wb")

    def fsync_file(self, f: BinaryIO) -> None:
        f.flush()
        os.fsync(f.fileno())

    def open_log(self, path: Path) -> int:
        """Create a new append-only file whose every write is durable when it returns
        (O_DSYNC): a log append is then one syscall, not a write and an fsync."""
        return os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_DSYNC, 0o644
        )

    def append_durably(self, fd: int, data: bytes) -> None:
        """Append `data` to a file from `open_log`; on return it is on stable storage."""
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def rename(self, src: Path, dst: Path) -> None:
        os.rename(src, dst)

    def fsync_dir(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def unlink(self, path: Path) -> None:
        os.unlink(path)


def temp_name(final_name: str) -> str:
    """Hidden *and* `.tmp`: no reader glob (`*.parquet`) can ever match a leftover temp file."""
    return f".{final_name}.tmp"


def publish_atomically(
    ops: FileOps, directory: Path, final_name: str, write: Callable[[BinaryIO], None]
) -> Path:
    """Write a file whole under a temp name, make it durable, then give it its final name.

    After this returns, the file and its directory entry are on stable storage. If anything
    fails, the temp file is removed when possible and the error propagates; a crash leaves at
    most a hidden `.tmp` file that readers ignore.
    """
    created = ops.makedirs(directory)
    if created:
        # The new partition folder's own entry must be durable too.
        ops.fsync_dir(directory.parent)
    tmp = directory / temp_name(final_name)
    final = directory / final_name
    f = ops.open_new(tmp)
    try:
        try:
            write(f)
            ops.fsync_file(f)
        finally:
            f.close()
        ops.rename(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            ops.unlink(tmp)
        raise
    ops.fsync_dir(directory)
    return final


def probe_writable(ops: FileOps, directory: Path) -> None:
    """Raise OSError unless a file can be created, fsync'd and removed in `directory`."""
    ops.makedirs(directory)
    probe = directory / f".readyz-{uuid.uuid4().hex}.tmp"
    f = ops.open_new(probe)
    try:
        try:
            f.write(b"ok")
            ops.fsync_file(f)
        finally:
            f.close()  # may itself fail (ENOSPC on flush): the probe must still go
    finally:
        ops.unlink(probe)
