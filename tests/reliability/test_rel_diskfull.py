"""Disk full: never 201 without persistence, 503 while full, recovery by itself, nothing lost.

Mechanism (printed as `REL-NUMBERS diskfull mechanism=...`):
- `tmpfs` (CI runs as root): the real `ccee-webhook serve` process with its lake on a
  2 MiB tmpfs, filled with a ballast file until the kernel answers ENOSPC.
- `fileops-seam` (when mounting is not permitted, or REL_DISKFULL_FORCE_SEAM=1): the
  receiver app under a real uvicorn in a thread, with its documented filesystem seam
  (`ingest.fsops.FileOps`, the only object that touches the lake's disk) failing writes
  with ENOSPC while "full".
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import msgspec
import pytest
import uvicorn
from support.callbacks import PROBLEM_JSON, body_for
from support.credentials import TOKEN, TOKENS_ENV
from support.lake import assert_every_file_readable, lake_transaction_ids
from support.load import LoadLog, RawConnection, host_port, post_many
from support.receiver import start_receiver
from support.waiting import wait_until

from ingest.fsops import FileOps


class Disk:
    """A lake disk that can be filled and freed; `url` is a receiver writing to it."""

    mechanism = ""
    url = ""
    data_dir: Path

    def fill(self, leave: int = 0) -> None:
        raise NotImplementedError

    def free(self) -> None:
        raise NotImplementedError

    def receiver_alive(self) -> bool:
        raise NotImplementedError


class TmpfsDisk(Disk):
    mechanism = "tmpfs"

    def __init__(self, mnt: Path, logs: Path) -> None:
        self.mnt = mnt
        self.data_dir = mnt / "data"
        self.ballast = mnt / "ballast"
        self.rcv = start_receiver(self.data_dir, "--instance-id", "diskfull", logs_dir=logs)
        self.url = self.rcv.url

    def fill(self, leave: int = 0) -> None:
        """Write ballast until ENOSPC, then give back `leave` bytes (page-rounded by tmpfs)."""
        chunk = b"\0" * 65536
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
            while True:  # the last partial pages
                try:
                    os.write(fd, b"\0" * 512)
                except OSError:
                    break
            if leave:
                os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
        finally:
            os.close(fd)

    def free(self) -> None:
        self.ballast.unlink(missing_ok=True)

    def receiver_alive(self) -> bool:
        return self.rcv.proc.poll() is None


class QuotaOps(FileOps):
    """The seam: new files fail with ENOSPC once the byte quota is used (None: unlimited)."""

    def __init__(self) -> None:
        self.remaining: int | None = None
        self.lock = threading.Lock()

    def _take(self, n: int) -> None:
        with self.lock:
            if self.remaining is None:
                return
            if self.remaining < n:
                self.remaining = 0
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.remaining -= n

    def open_new(self, path: Path) -> BinaryIO:
        self._take(4096)
        return super().open_new(path)

    def fsync_file(self, f: BinaryIO) -> None:
        f.flush()
        self._take(f.tell())
        super().fsync_file(f)

    def open_log(self, path: Path) -> int:
        self._take(4096)
        return super().open_log(path)

    def append_durably(self, fd: int, data: bytes) -> None:
        self._take(len(data))
        super().append_durably(fd, data)


class SeamDisk(Disk):
    mechanism = "fileops-seam"

    def __init__(self, data_dir: Path) -> None:
        from ingest.app import create_app
        from settings import ReceiverSettings, parse_tokens

        self.data_dir = data_dir
        self.ops = QuotaOps()
        settings = ReceiverSettings(
            data_dir=str(data_dir), tokens=parse_tokens(TOKENS_ENV), instance_id="diskfull"
        )
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            create_app(settings, self.ops), log_config=None, access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        wait_until(lambda: self.server.started, what="threaded receiver")

    def fill(self, leave: int = 0) -> None:
        self.ops.remaining = leave

    def free(self) -> None:
        self.ops.remaining = None

    def receiver_alive(self) -> bool:
        return self.thread.is_alive()

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


def _try_mount(mnt: Path) -> bool:
    if os.geteuid() != 0 or os.environ.get("REL_DISKFULL_FORCE_SEAM"):
        return False
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    mnt = tmp_path / "mnt"
    if _try_mount(mnt):
        d = TmpfsDisk(mnt, tmp_path / "receiver-logs")
        try:
            yield d
        finally:
            d.rcv.stop()
            # Keep a copy of the lake for the suite's final secret scan, then unmount.
            with contextlib.suppress(OSError):
                subprocess.run(["cp", "-a", str(d.data_dir), str(tmp_path / "lake-copy")],
                               check=False)
            subprocess.run(["umount", str(mnt)], check=True)
    else:
        seam = SeamDisk(tmp_path / "data")
        try:
            yield seam
        finally:
            seam.close()


def _send(url: str, n: int, log: LoadLog, concurrency: int = 16) -> None:
    ids = iter([str(uuid.uuid4()) for _ in range(n)])
    asyncio.run(asyncio.wait_for(post_many(url, ids, log, concurrency), 60))


def _raw(url: str, body: bytes, path: str | None = None) -> tuple[int, dict[str, str], bytes]:
    host, port = host_port(url)

    async def go() -> tuple[int, dict[str, str], bytes]:
        conn = RawConnection(host, port)
        try:
            return await conn.request(
                "POST", path or f"/ccee/{TOKEN}", body, {"content-type": "application/json"}
            )
        finally:
            await conn.close()

    return asyncio.run(go())


def _ready(url: str) -> int:
    return httpx.get(url + "/readyz", timeout=5).status_code


def test_full_disk_503_then_recovers_and_loses_nothing(disk: Disk) -> None:
    acked_log, slack_log, full_log = LoadLog(), LoadLog(), LoadLog()
    edge_log, after_log = LoadLog(), LoadLog()

    # Healthy disk.
    _send(disk.url, 100, acked_log)
    assert acked_log.statuses == {201: 100}

    # Completely full. The first wave may still fit into the partly used last pages of files
    # already open (tmpfs allocates whole pages): a few KB, far less than 100 deliveries. Once
    # that slack is used, every delivery is refused with 503 + Retry-After, readiness says so.
    disk.fill()
    _send(disk.url, 100, slack_log)
    assert set(slack_log.statuses) <= {201, 503}, slack_log.statuses
    assert slack_log.statuses.get(503, 0) > 0, "the full disk accepted 100 deliveries"
    _send(disk.url, 200, full_log)
    assert full_log.statuses == {503: 200}, full_log.statuses
    status, headers, content = _raw(disk.url, body_for())
    assert status == 503
    assert headers["content-type"].startswith(PROBLEM_JSON)
    assert headers.get("retry-after")
    problem = msgspec.json.decode(content)
    assert problem["status"] == 503 and problem["motivo"] == "persistencia_falhou"
    assert TOKEN not in content.decode()
    assert _ready(disk.url) == 503
    # An invalid request is still told what is wrong (its quarantine row cannot be kept).
    status, headers, _ = _raw(disk.url, b"{not json")
    assert status == 400 and headers["content-type"].startswith(PROBLEM_JSON)

    # Space comes back: no restart, the receiver recovers by itself.
    disk.free()
    wait_until(lambda: _ready(disk.url) == 200, 30, "readyz after space returned")
    _send(disk.url, 200, after_log)
    assert after_log.statuses == {201: 200}

    # Space running out in the middle of a concurrent stream.
    disk.fill(leave=96 * 1024)
    _send(disk.url, 1500, edge_log, concurrency=32)
    disk.free()
    wait_until(lambda: _ready(disk.url) == 200, 30, "readyz after the second fill")
    assert set(edge_log.statuses) <= {201, 503}, edge_log.statuses
    assert edge_log.statuses.get(503, 0) > 0, "the disk never filled up"
    assert edge_log.statuses.get(201, 0) > 0, "nothing fitted before the disk filled"

    assert disk.receiver_alive()
    stored = set(lake_transaction_ids(disk.data_dir))
    acked = set(acked_log.acked + slack_log.acked + after_log.acked + edge_log.acked)
    refused = set(slack_log.unacked + full_log.unacked + edge_log.unacked)
    assert acked <= stored, f"{len(acked - stored)} acknowledged deliveries lost"
    files = assert_every_file_readable(disk.data_dir)
    leftovers = [p for p in (disk.data_dir / "lake").rglob("*.parquet.tmp")]
    assert leftovers == [], f"failed data writes left temp files behind: {leftovers[:5]}"
    print(
        f"\nREL-NUMBERS diskfull mechanism={disk.mechanism} acked={len(acked)} "
        f"refused_503={len(refused)} stored_but_refused={len(refused & stored)} "
        f"lost_acked=0 files={files}"
    )


def test_readiness_probe_leaves_no_file_behind_when_disk_full(disk: Disk) -> None:
    """A probe every few seconds during a long disk-full episode must not leak files."""
    disk.fill()
    probes = [_ready(disk.url) for _ in range(5)]
    disk.free()
    assert probes == [503] * 5
    wait_until(lambda: _ready(disk.url) == 200, 30, "readyz after space returned")
    leaked = sorted(p.name for p in (disk.data_dir / "lake").rglob(".readyz-*"))
    assert leaked == [], f"{len(leaked)} readiness probe files left in the lake: {leaked[:3]}"
