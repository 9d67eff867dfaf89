"""The lake layout contract: São Paulo day partitions, reader glob, temp files never read."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.fsops import FileOps, publish_atomically, temp_name
from ingest.lake_schema import (
    NOTIFICACOES,
    NOTIFICACOES_SCHEMA,
    QUARENTENA,
    QUARENTENA_SCHEMA,
    conform,
    data_files,
    partition_day,
    partition_dir,
    read_glob,
)
from ingest.records import Entrega, entregas_table


def test_partition_day_uses_the_sao_paulo_calendar() -> None:
    # 02:30 UTC on the 28th is still the 27th in São Paulo (UTC-3).
    assert partition_day(datetime(2026, 11, 28, 2, 30, tzinfo=UTC)) == date(2026, 11, 27)
    assert partition_day(datetime(2026, 11, 28, 3, 0, tzinfo=UTC)) == date(2026, 11, 28)
    with pytest.raises(ValueError):
        partition_day(datetime(2026, 11, 28, 3, 0))


def test_schemas_match_the_contract() -> None:
    assert NOTIFICACOES_SCHEMA.names == [
        "transaction_id",
        "evento_notificacao",
        "metadados",
        "recebido_em",
        "destino",
        "perfil",
        "corpo",
        "instancia",
        "avisos",
    ]
    assert NOTIFICACOES_SCHEMA.field("avisos").type == pa.list_(pa.string())
    assert NOTIFICACOES_SCHEMA.field("recebido_em").type == pa.timestamp("us", tz="UTC")
    assert NOTIFICACOES_SCHEMA.field("metadados").type == pa.list_(
        pa.struct([("nome", pa.string()), ("valor", pa.string())])
    )
    assert QUARENTENA_SCHEMA.names == [
        "recebido_em",
        "destino",
        "perfil",
        "motivo",
        "detalhe",
        "status_http",
        "content_type",
        "tamanho",
        "corpo",
        "instancia",
        "transaction_id",
        "evento_notificacao",
    ]
    assert QUARENTENA_SCHEMA.field("corpo").type == pa.binary()
    assert QUARENTENA_SCHEMA.field("status_http").type == pa.int32()


def _row(tid: str) -> Entrega:
    return Entrega(
        transaction_id=tid,
        evento_notificacao="A.B",
        metadados=[("n", "null")],
        recebido_em=datetime(2026, 11, 28, 12, tzinfo=UTC),
        destino="/ccee/***",
        perfil=None,
        corpo="{}",
        instancia="i",
    )


def test_leftover_temp_files_never_break_readers(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    part = partition_dir(root, NOTIFICACOES, date(2026, 11, 28))
    publish_atomically(
        FileOps(), part, "i-1-a.parquet", lambda f: pq.write_table(entregas_table([_row("t1")]), f)
    )
    # What a crash mid-flush can leave behind: a truncated temp file, and an empty one.
    good = (part / "i-1-a.parquet").read_bytes()
    (part / temp_name("i-2-b.parquet")).write_bytes(good[: len(good) // 2])
    (part / temp_name("i-3-c.parquet")).write_bytes(b"")
    # An empty partition folder from a crash right after mkdir.
    partition_dir(root, NOTIFICACOES, date(2026, 11, 29)).mkdir()

    with duckdb.connect() as con:
        rows = con.execute(
            f"select transaction_id from read_parquet('{root}/notificacoes/*/*.parquet')"
        ).fetchall()
        assert rows == [("t1",)]
        hive = con.execute(
            f"select count(*) from read_parquet('{read_glob(root, NOTIFICACOES)}', "
            "hive_partitioning=true)"
        ).fetchall()
        assert hive == [(1,)]
    assert [p.name for p in data_files(root, NOTIFICACOES)] == ["i-1-a.parquet"]


def test_publish_failure_leaves_no_visible_file(tmp_path: Path) -> None:
    class FullDisk(FileOps):
        def fsync_file(self, f):  # type: ignore[no-untyped-def]
            raise OSError(28, os.strerror(28))

    part = tmp_path / "notificacoes" / "dt=2026-11-28"
    with pytest.raises(OSError):
        publish_atomically(FullDisk(), part, "x.parquet", lambda f: f.write(b"data"))
    assert list(part.iterdir()) == []


def test_files_written_before_a_column_existed_conform_to_todays_schema(tmp_path: Path) -> None:
    """Schema evolution: an old file (no `avisos`, no quarantine ids) reads as today's rows."""
    new = entregas_table([_row("t1")])
    old = new.drop_columns(["avisos"])
    assert conform(NOTIFICACOES, old).equals(new)
    assert conform(NOTIFICACOES, old).column("avisos").to_pylist() == [[]]
    quarentena = pa.table(
        {f.name: pa.array([], f.type) for f in QUARENTENA_SCHEMA if f.name != "transaction_id"}
    )
    evolved = conform(QUARENTENA, quarentena.drop_columns(["evento_notificacao"]))
    assert evolved.schema == QUARENTENA_SCHEMA


def test_write_ahead_log_rows_from_before_avisos_still_decode() -> None:
    """A receiver upgraded over an unpublished WAL segment publishes the old rows as rows
    without avisos (the WAL stores each row as a msgpack map of its fields)."""
    import msgspec

    old = msgspec.structs.asdict(_row("t-old"))
    del old["avisos"]
    (row,) = msgspec.msgpack.Decoder(list[Entrega]).decode(msgspec.msgpack.encode([old]))
    assert row.avisos == () and row.transaction_id == "t-old"
    assert entregas_table([row]).column("avisos").to_pylist() == [[]]
