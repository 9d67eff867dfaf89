"""Group commit against real files: shared flushes, every waiter released, failures surfaced."""

from __future__ import annotations

import asyncio
import errno
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import msgspec
import pytest
from support.lake import lake_rows

from benchmarks.baseline_writers import FsyncPerRequestWriter
from ingest.fsops import FileOps
from ingest.lake_schema import NOTIFICACOES, data_files
from ingest.lake_writer import (
    GroupCommitWriter,
    ParquetBatchFiles,
    PersistenceError,
)
from ingest.records import Entrega, entregas_table


def row(tid: str, when: datetime | None = None) -> Entrega:
    return Entrega(
        transaction_id=tid,
        evento_notificacao="CONTRATO.REGISTRADO",
        metadados=[("ID_CONTRATO", "1"), ("MES_REFERENCIA", "null")],
        recebido_em=when or datetime.now(UTC),
        destino="/ccee/***",
        perfil="P",
        corpo='{"x": 1}',
        instancia="test",
    )


class FailingOps(FileOps):
    """A disk that fails fsync with ENOSPC while `broken` is set (a real seam)."""

    def __init__(self) -> None:
        self.broken = False
        self.fsyncs = 0

    def fsync_file(self, f: BinaryIO) -> None:
        if self.broken:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.fsyncs += 1
        super().fsync_file(f)


def files_for(tmp_path: Path, ops: FileOps | None = None) -> ParquetBatchFiles[Entrega]:
    return ParquetBatchFiles(tmp_path / "lake", NOTIFICACOES, entregas_table, "test", ops)


def test_concurrent_writes_share_flushes_and_all_land(tmp_path: Path) -> None:
    ops = FailingOps()

    async def go() -> list[str]:
        writer = GroupCommitWriter(files_for(tmp_path, ops), max_delay=0.005, undecided=lambda: 1)
        await writer.start()
        tids = [str(uuid.uuid4()) for _ in range(300)]
        await asyncio.gather(*(writer.write(row(t)) for t in tids))
        await writer.close()
        return tids

    tids = asyncio.run(go())
    got = {r[0] for r in lake_rows(tmp_path, table=NOTIFICACOES,
                                   sql="select transaction_id from t")}
    assert got == set(tids)
    files = data_files(tmp_path / "lake", NOTIFICACOES)
    # Group commit: far fewer files (and fsyncs) than rows.
    assert 1 <= len(files) < 30
    assert ops.fsyncs == len(files)


def test_rows_are_split_by_sao_paulo_day(tmp_path: Path) -> None:
    async def go() -> None:
        writer = GroupCommitWriter(files_for(tmp_path))
        await writer.start()
        await asyncio.gather(
            writer.write(row("late", datetime(2026, 11, 28, 2, 59, tzinfo=UTC))),
            writer.write(row("early", datetime(2026, 11, 28, 3, 0, tzinfo=UTC))),
        )
        await writer.close()

    asyncio.run(go())
    got = lake_rows(tmp_path, table=NOTIFICACOES,
                    sql="select transaction_id, regexp_extract(filename, 'dt=([0-9-]+)', 1) from "
        f"read_parquet('{tmp_path}/lake/notificacoes/*/*.parquet', filename=true) order by 1",
    )
    assert got == [("early", "2026-11-28"), ("late", "2026-11-27")]


@pytest.mark.parametrize("writer_cls", [GroupCommitWriter, FsyncPerRequestWriter])
def test_disk_failure_fails_every_waiter_then_recovers(tmp_path: Path, writer_cls: type) -> None:
    ops = FailingOps()

    async def go() -> list[BaseException | None]:
        writer = writer_cls(files_for(tmp_path, ops))
        await writer.start()
        ops.broken = True
        results = await asyncio.gather(
            *(writer.write(row(f"bad-{i}")) for i in range(20)), return_exceptions=True
        )
        ops.broken = False
        await writer.write(row("good"))
        await writer.close()
        return results

    results = asyncio.run(go())
    assert all(isinstance(r, PersistenceError) for r in results)
    rows = lake_rows(tmp_path, table=NOTIFICACOES, sql="select transaction_id from t")
    assert rows == [("good",)]
    leftovers = [p.name for p in (tmp_path / "lake").rglob("*") if p.is_file()]
    assert not [n for n in leftovers if n.endswith(".tmp")]


def test_close_flushes_everything_queued(tmp_path: Path) -> None:
    async def go() -> None:
        writer = GroupCommitWriter(files_for(tmp_path), max_delay=0.2, undecided=lambda: 1)
        await writer.start()
        first = asyncio.ensure_future(writer.write(row("a")))
        await first
        # Queued behind the commit delay when close() is called:
        pending = [asyncio.ensure_future(writer.write(row(f"q{i}"))) for i in range(5)]
        await asyncio.sleep(0)
        await writer.close()
        assert all(p.done() and p.exception() is None for p in pending)
        with pytest.raises(PersistenceError):
            await writer.write(row("after-close"))

    asyncio.run(go())
    assert len(lake_rows(tmp_path, table=NOTIFICACOES, sql="select * from t")) == 6


def test_a_row_the_lake_cannot_encode_does_not_fail_its_batch(tmp_path: Path) -> None:
    poison = msgspec.structs.replace(row("poison"), corpo="\ud800")  # not encodable as UTF-8

    async def go() -> list[BaseException | None]:
        writer = GroupCommitWriter(files_for(tmp_path), max_delay=0.01, undecided=lambda: 1)
        await writer.start()
        results = await asyncio.gather(
            writer.write(row("ok-1")),
            writer.write(poison),
            writer.write(row("ok-2")),
            return_exceptions=True,
        )
        await writer.close()
        return results

    ok1, bad, ok2 = asyncio.run(go())
    assert ok1 is None and ok2 is None
    assert isinstance(bad, PersistenceError)
    got = sorted(r[0] for r in lake_rows(tmp_path, table=NOTIFICACOES,
                                         sql="select transaction_id from t"))
    assert got == ["ok-1", "ok-2"]
