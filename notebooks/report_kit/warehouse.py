"""Open the warehouse read-only and describe what is in it.

Dagster is the only writer of ``warehouse.duckdb``; reports must never take its write lock, so
every connection here is ``read_only=True``. A missing file or a missing table is a normal state
("no data yet"), not an error.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from settings import CCEE_TZ_NAME, warehouse_path

#: CCEE's calendar; every time shown to a person is in this zone.
TZ = CCEE_TZ_NAME


def resolve_warehouse_path(override: str | os.PathLike[str] | None = None) -> Path:
    """Explicit path (CLI ``--warehouse``) > the data folder's warehouse (settings.data_dir)."""
    return Path(override) if override else warehouse_path()


#: How long a query waits for Dagster to release the file before giving up.
LOCK_WAIT_S = 10.0


def _connect(path: Path, wait_s: float = LOCK_WAIT_S) -> duckdb.DuckDBPyConnection:
    """Read-only connection; retries while a writer holds the file lock (Dagster running)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)
            continue
        con.execute(f"SET TimeZone = '{TZ}'")
        return con


@dataclass
class Warehouse:
    """A read-only view of the warehouse.

    No connection is kept open between queries: a DuckDB reader in another process would block
    Dagster (the only writer) from opening the file, so each query connects, reads, closes.
    ``tables`` is empty when the file does not exist yet.
    """

    path: Path
    tables: frozenset[str] = field(default_factory=frozenset)
    error: str | None = None

    @property
    def existe(self) -> bool:
        return self.error is None

    def has(self, table: str) -> bool:
        return table in self.tables

    def has_column(self, table: str, column: str) -> bool:
        """Whether a table has a column (warehouses from older versions may lack one)."""
        if not self.has(table):
            return False
        n = self.df(
            "SELECT count(*) AS n FROM information_schema.columns "
            "WHERE table_name = ? AND column_name = ?",
            [table, column],
        ).iloc[0]["n"]
        return bool(n)

    def has_rows(self, table: str) -> bool:
        if not self.has(table):
            return False
        n = self.df(f'SELECT count(*) AS n FROM (SELECT 1 FROM "{table}" LIMIT 1)').iloc[0]["n"]
        return bool(n)

    def df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        con = _connect(self.path)
        try:
            return con.execute(sql, params or []).df()
        finally:
            con.close()


def open_warehouse(path: str | os.PathLike[str] | None = None) -> Warehouse:
    """Look at the warehouse read-only; a missing or unreadable file yields an empty view
    carrying the reason (the notebooks show it as "no data yet")."""
    p = resolve_warehouse_path(path)
    if not p.exists():
        return Warehouse(path=p, error=f"{p} não existe ainda")
    try:
        con = _connect(p)
    except duckdb.Error as exc:  # busy for too long, or not a DuckDB file
        return Warehouse(path=p, error=f"não foi possível abrir {p}: {exc}")
    try:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    finally:
        con.close()
    return Warehouse(path=p, tables=frozenset(r[0] for r in rows))


@dataclass(frozen=True)
class Periodo:
    """An inclusive range of São Paulo calendar days; None on a side means open."""

    inicio: dt.date | None = None
    fim: dt.date | None = None

    def sql(self, day_expr: str) -> tuple[str, list[Any]]:
        """A WHERE fragment (always valid) and its parameters for a DATE expression."""
        parts, params = ["TRUE"], []
        if self.inicio is not None:
            parts.append(f"{day_expr} >= ?")
            params.append(self.inicio)
        if self.fim is not None:
            parts.append(f"{day_expr} <= ?")
            params.append(self.fim)
        return " AND ".join(parts), params


#: No period filter.
TUDO = Periodo()


def sp_day(ts_expr: str) -> str:
    """SQL for the São Paulo calendar day of a TIMESTAMPTZ expression."""
    return f"CAST(timezone('{TZ}', {ts_expr}) AS DATE)"


def sp_local(ts_expr: str) -> str:
    """SQL for the São Paulo wall-clock time (naive) of a TIMESTAMPTZ, for display."""
    return f"timezone('{TZ}', {ts_expr})"


def in_list(column: str, values: list[str] | tuple[str, ...] | None) -> tuple[str, list[Any]]:
    """``column IN (...)`` for a non-empty filter, TRUE otherwise."""
    if not values:
        return "TRUE", []
    return f"{column} IN ({', '.join('?' for _ in values)})", list(values)
