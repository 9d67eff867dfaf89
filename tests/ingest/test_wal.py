"""The write-ahead log against real files: durable appends, publication, crash recovery.

Crashes are reproduced by leaving on disk exactly what a killed receiver leaves (segments with
torn tails, segments whose Parquet was already published, half-created temp segments); the
end-to-end kill -9 under load is in test_crash.py.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import msgspec
import pytest
from support.lake import lake_rows
from support.waiting import wait_until

from ingest.fsops import FileOps
from ingest.lake_schema import NOTIFICACOES, data_files
from ingest.lake_writer import GroupCommitWriter, ParquetBatchFiles, PersistenceError
from ingest.records import Entrega, entregas_table
from ingest.wal import (
    MAGIC,
    TEMP_GRACE,
    WAL_DIR,
    WalLake,
    frame,
    read_frames,
    unpublished_bytes,
)


def row(tid: str | None = None, when: datetime | None = None) -> Entrega:
    return Entrega(
        transaction_id=tid or str(uuid.uuid4()),
        evento_notificacao="MONTANTE_ENERGIA.AJUSTADO",
        metadados=[("ID_CONTRATO", "7"), ("MES_REFERENCIA", "null"), ("ÁREA", "ç")],
        recebido_em=when or datetime.now(UTC),
        destino="/ccee/***",
        perfil="P",
        corpo='{"x": 1}',
        instancia="test",
    )


def files(tmp_path: Path, ops: FileOps | None = None) -> ParquetBatchFiles[Entrega]:
    return ParquetBatchFiles(tmp_path / "lake", NOTIFICACOES, entregas_table, "test", ops)


def wal_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake" / NOTIFICACOES / WAL_DIR


def tids_in_lake(tmp_path: Path) -> list[str]:
    rows = lake_rows(tmp_path, table=NOTIFICACOES, sql="select transaction_id from t")
    return [r[0] for r in rows]


def orphan(tmp_path: Path, name: str, batches: list[list[Entrega]], tail: bytes = b"") -> Path:
    """A segment as a killed receiver leaves it: header, whole frames, maybe a torn tail."""
    folder = wal_dir(tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.wal"
    enc = msgspec.msgpack.Encoder()
    # Made visible whole, as a receiver makes its segments (a live one may adopt it at once).
    part = folder / f"{name}.writing"
    part.write_bytes(MAGIC + b"".join(frame(enc.encode(b)) for b in batches) + tail)
    part.rename(path)
    return path


def test_frames_stop_at_a_torn_or_corrupt_tail() -> None:
    a, b = frame(b"first"), frame(b"second")
    assert read_frames(MAGIC + a + b) == ([b"first", b"second"], len(MAGIC + a + b))
    assert read_frames(MAGIC + a + b[:-1]) == ([b"first"], len(MAGIC + a))  # torn
    corrupt = b[:-1] + bytes([b[-1] ^ 1])
    assert read_frames(MAGIC + a + corrupt + a) == ([b"first"], len(MAGIC + a))
    assert read_frames(MAGIC[:5]) == ([], 0)  # crash while the header was written
    assert read_frames(b"") == ([], 0)


def test_group_commit_over_the_wal_publishes_everything_once(tmp_path: Path) -> None:
    """The receiver's composition: many requests, few appends, a few Parquet files."""

    async def go() -> list[str]:
        wal = WalLake(files(tmp_path), Entrega, publish_after=0.05)
        writer = GroupCommitWriter(wal, max_concurrent=1, undecided=lambda: 1, max_delay=0.005)
        await writer.start()
        tids = [str(uuid.uuid4()) for _ in range(500)]
        await asyncio.gather(*(writer.write(row(t)) for t in tids))
        assert wal.backlog() + len(tids_published(tmp_path)) >= len(tids)
        await writer.close()
        assert wal.backlog() == 0
        return tids

    tids = asyncio.run(go())
    got = tids_in_lake(tmp_path)
    assert sorted(got) == sorted(tids)  # each exactly once
    assert len(data_files(tmp_path / "lake", NOTIFICACOES)) < 20
    assert os.listdir(wal_dir(tmp_path)) == []  # a graceful stop leaves the WAL empty
    meta = lake_rows(tmp_path, table=NOTIFICACOES, sql="select metadados from t limit 1")[0][0]
    assert meta == [
        {"nome": "ID_CONTRATO", "valor": "7"},
        {"nome": "MES_REFERENCIA", "valor": "null"},
        {"nome": "ÁREA", "valor": "ç"},
    ]


def tids_published(tmp_path: Path) -> list[str]:
    if not data_files(tmp_path / "lake", NOTIFICACOES):
        return []
    import duckdb

    glob = tmp_path / "lake" / NOTIFICACOES / "dt=*" / "*.parquet"
    return [r[0] for r in duckdb.sql(f"select transaction_id from '{glob}'").fetchall()]


def test_idle_receiver_publishes_at_once_and_rows_wait_in_the_wal_meanwhile(
    tmp_path: Path,
) -> None:
    wal = WalLake(files(tmp_path), Entrega, publish_after=3600)
    wal.open()
    try:
        first = row()
        wal.write([first])
        # Durable and acknowledged, not yet in Parquet: it is in the WAL, counted as backlog.
        assert wal.backlog() == 1
        assert unpublished_bytes(tmp_path / "lake") > 0
        assert tids_published(tmp_path) == []
        wal.idle()
        wait_until(lambda: wal.backlog() == 0, what="idle publication")
        assert unpublished_bytes(tmp_path / "lake") == 0
        assert tids_published(tmp_path) == [first.transaction_id]
    finally:
        wal.close()


def test_a_full_segment_is_published_without_waiting(tmp_path: Path) -> None:
    wal = WalLake(files(tmp_path), Entrega, publish_after=3600, seal_rows=10)
    wal.open()
    try:
        batch = [row() for _ in range(10)]
        wal.write(batch)
        wait_until(lambda: wal.backlog() == 0, what="publication of a full segment")
        assert sorted(tids_published(tmp_path)) == sorted(r.transaction_id for r in batch)
    finally:
        wal.close()


def test_orphaned_segment_is_recovered_once_and_its_torn_tail_dropped(tmp_path: Path) -> None:
    acked = [[row() for _ in range(3)], [row(), row()]]
    never_acked = frame(msgspec.msgpack.encode([row("never-acknowledged")]))
    seg = orphan(tmp_path, "dead-00000000000000001-aaaaaaaaaaaa", acked, never_acked[:-3])
    wal = WalLake(files(tmp_path), Entrega)
    assert wal.recover() == 5
    assert not seg.exists()
    want = sorted(r.transaction_id for b in acked for r in b)
    assert sorted(tids_in_lake(tmp_path)) == want
    # Running recovery again (a second crash during the first recovery) adds nothing.
    assert wal.recover() == 0
    assert sorted(tids_in_lake(tmp_path)) == want


def test_crash_between_publishing_and_removing_a_segment_adds_nothing_twice(
    tmp_path: Path,
) -> None:
    """Killed after day one's Parquet file was published, before day two's and the unlink."""
    stem = "dead-00000000000000002-bbbbbbbbbbbb"
    day1 = [row(when=datetime(2026, 11, 27, 12, tzinfo=UTC)) for _ in range(2)]
    day2 = [row(when=datetime(2026, 11, 28, 12, tzinfo=UTC)) for _ in range(3)]
    orphan(tmp_path, stem, [day1 + day2])
    files(tmp_path).publish(day1, stem)  # what the dead receiver had already done
    wal = WalLake(files(tmp_path), Entrega)
    wal.recover()
    got = tids_in_lake(tmp_path)
    assert sorted(got) == sorted(r.transaction_id for r in day1 + day2)
    assert len(got) == len(set(got)) == 5


def test_a_segment_locked_by_a_live_receiver_is_left_alone(tmp_path: Path) -> None:
    live = WalLake(files(tmp_path), Entrega, publish_after=3600)
    live.open()
    try:
        live.write([row("live-row")])
        # A second receiver starting on the same lake (another worker) must not take it.
        other = WalLake(files(tmp_path), Entrega)
        assert other.recover() == 0
        assert tids_published(tmp_path) == []
        assert live.backlog() == 1
    finally:
        live.close()
    assert tids_in_lake(tmp_path) == ["live-row"]


def test_live_receivers_adopt_what_a_dead_one_left_and_nothing_of_each_other(
    tmp_path: Path,
) -> None:
    """Two receivers on one lake; a third dies after both started (no restart will come)."""
    a = WalLake(files(tmp_path), Entrega, publish_after=3600, adopt_every=0.05)
    b = WalLake(files(tmp_path), Entrega, publish_after=3600, adopt_every=0.05)
    a.open()
    b.open()
    try:
        a.write([row("a-live")])
        dead = [row() for _ in range(3)]
        seg = orphan(tmp_path, "dead-00000000000000003-cccccccccccc", [dead])
        wait_until(lambda: not seg.exists(), what="adoption of the dead receiver's segment")
        # Adopted once, by one of them; a's segment, locked by a live writer, was not taken.
        assert sorted(tids_published(tmp_path)) == sorted(r.transaction_id for r in dead)
        assert a.backlog() == 1
    finally:
        b.close()
        a.close()
    got = tids_in_lake(tmp_path)
    assert sorted(got) == sorted(["a-live", *(r.transaction_id for r in dead)])
    assert os.listdir(wal_dir(tmp_path)) == []


def test_a_stopping_receiver_adopts_what_a_dead_one_left(tmp_path: Path) -> None:
    wal = WalLake(files(tmp_path), Entrega, adopt_every=3600)
    wal.open()
    dead = [row() for _ in range(2)]
    orphan(tmp_path, "dead-00000000000000004-dddddddddddd", [dead])  # died after wal started
    assert tids_published(tmp_path) == []
    wal.close()
    assert sorted(tids_in_lake(tmp_path)) == sorted(r.transaction_id for r in dead)
    assert os.listdir(wal_dir(tmp_path)) == []


def test_half_created_temp_segment_is_removed_once_surely_dead(tmp_path: Path) -> None:
    folder = wal_dir(tmp_path)
    folder.mkdir(parents=True)
    dead = folder / ".dead-1-x.wal.tmp"
    dead.write_bytes(MAGIC[:3])
    # Just created: it may be a live receiver's, between its creation and its lock.
    young = folder / ".live-2-y.wal.tmp"
    young.write_bytes(b"")
    old = time.time() - 2 * TEMP_GRACE
    os.utime(dead, (old, old))
    WalLake(files(tmp_path), Entrega).recover()
    assert os.listdir(folder) == [young.name]


class FlakyOps(FileOps):
    """A disk failing with EIO: WAL appends while `broken`, Parquet files (their fsync) while
    `parquet_broken` (a real seam: the only object that touches the lake's disk)."""

    def __init__(self) -> None:
        self.broken = False
        self.parquet_broken = False

    def append_durably(self, fd: int, data: bytes) -> None:
        if self.broken:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        super().append_durably(fd, data)

    def fsync_file(self, f: BinaryIO) -> None:
        if self.parquet_broken:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        super().fsync_file(f)


def test_failed_append_fails_its_batch_only_and_the_log_goes_on(tmp_path: Path) -> None:
    ops = FlakyOps()
    wal = WalLake(files(tmp_path, ops), Entrega, publish_after=3600)
    wal.open()
    try:
        good = row("before-failure")
        wal.write([good])
        ops.broken = True
        with pytest.raises(OSError):
            wal.write([row("failed-batch")])
        ops.broken = False
        after = row("after-failure")
        wal.write([after])  # a fresh segment: never appended after an unknown tail
        wal.idle()
        wait_until(lambda: wal.backlog() == 0, what="publication")
    finally:
        wal.close()
    assert sorted(tids_in_lake(tmp_path)) == ["after-failure", "before-failure"]


def test_publication_failure_keeps_rows_durable_and_retries(tmp_path: Path) -> None:
    ops = FlakyOps()
    ops.parquet_broken = True
    published: list[tuple[int, bool]] = []
    wal = WalLake(
        files(tmp_path, ops),
        Entrega,
        publish_after=0.01,
        retry_after=0.01,
        on_publish=lambda n, ok: published.append((n, ok)),
    )
    wal.open()
    try:
        wal.write([row("kept")])
        wait_until(lambda: any(not ok for _, ok in published), what="a failed publication")
        assert wal.backlog() == 1
        assert wal.publish_error() is not None
        assert unpublished_bytes(tmp_path / "lake") > 0  # still durable in the WAL
        ops.parquet_broken = False
        wait_until(lambda: wal.backlog() == 0, what="the retry")
        assert wal.publish_error() is None
    finally:
        wal.close()
    assert tids_in_lake(tmp_path) == ["kept"]
    assert [p.name for p in (tmp_path / "lake").rglob("*.tmp")] == []


def test_rows_of_a_receiver_stopped_with_a_broken_disk_come_back_at_next_start(
    tmp_path: Path,
) -> None:
    ops = FlakyOps()
    ops.parquet_broken = True

    async def first_life() -> None:
        wal = WalLake(files(tmp_path, ops), Entrega, publish_after=3600)
        writer = GroupCommitWriter(wal, max_concurrent=1)
        await writer.start()
        await writer.write(row("acked-before-stop"))
        await writer.close()

    asyncio.run(first_life())
    assert tids_published(tmp_path) == []
    assert unpublished_bytes(tmp_path / "lake") > 0

    async def second_life() -> None:
        writer = GroupCommitWriter(WalLake(files(tmp_path), Entrega), max_concurrent=1)
        await writer.start()  # recovery runs before the first request
        await writer.close()

    asyncio.run(second_life())
    assert tids_in_lake(tmp_path) == ["acked-before-stop"]


def test_write_after_close_is_refused(tmp_path: Path) -> None:
    async def go() -> None:
        writer = GroupCommitWriter(WalLake(files(tmp_path), Entrega), max_concurrent=1)
        await writer.start()
        await writer.close()
        with pytest.raises(PersistenceError):
            await writer.write(row())

    asyncio.run(go())
