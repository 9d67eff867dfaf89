"""The lake read exactly as every reader does: `<table>/dt=*/*.parquet`, once the WAL is
published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from ingest.wal import WAL_DIR, unpublished_bytes
from support.waiting import wait_until


def settled(data_dir: Path) -> None:
    """Wait until every acknowledged delivery is published from the WAL to Parquet."""
    lake = data_dir / "lake"
    wait_until(lambda: unpublished_bytes(lake) == 0, what="the WAL to be published")


def lake_glob(data_dir: Path, table: str = "notificacoes") -> str:
    return str(data_dir / "lake" / table / "dt=*" / "*.parquet")


def lake_files(data_dir: Path, table: str = "notificacoes") -> list[Path]:
    """A table's Parquet files as they are now (not waiting for the WAL)."""
    return sorted((data_dir / "lake" / table).glob("dt=*/*.parquet"))


def all_lake_entries(data_dir: Path) -> list[Path]:
    """Every file under the lake, the receiver's WAL included."""
    lake = data_dir / "lake"
    return sorted(p for p in lake.rglob("*") if p.is_file()) if lake.exists() else []


def lake_data_files(data_dir: Path) -> list[Path]:
    """Every data file of the lake once settled (the receiver's WAL folders left out)."""
    settled(data_dir)
    return [p for p in all_lake_entries(data_dir) if WAL_DIR not in p.parts]


def lake_rows(
    data_dir: Path, sql: str = "SELECT * FROM t", table: str = "notificacoes"
) -> list[tuple[Any, ...]]:
    """SQL over the table as view `t`, once settled (empty list when no file exists yet)."""
    settled(data_dir)
    if not lake_files(data_dir, table):
        return []
    with duckdb.connect() as con:
        con.execute(
            "CREATE VIEW t AS SELECT * FROM read_parquet("
            f"'{lake_glob(data_dir, table)}')"
        )
        return con.execute(sql).fetchall()


def lake_transaction_ids(data_dir: Path) -> list[str]:
    return [r[0] for r in lake_rows(data_dir, "SELECT transaction_id FROM t")]


def assert_every_file_readable(data_dir: Path) -> int:
    """Each data file alone passes duckdb's read_parquet; returns the number of files."""
    files = lake_files(data_dir, "notificacoes") + lake_files(data_dir, "quarentena")
    with duckdb.connect() as con:
        for f in files:
            con.execute("SELECT count(*) FROM read_parquet($1)", [str(f)]).fetchone()
    return len(files)
