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
import polars as pl

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
        n = self.one(
            "SELECT count(*) AS n FROM information_schema.columns "
            "WHERE table_name = ? AND column_name = ?",
            [table, column],
        )["n"]
        return bool(n)

    def has_rows(self, table: str) -> bool:
        if not self.has(table):
            return False
        n = self.one(f'SELECT count(*) AS n FROM (SELECT 1 FROM "{table}" LIMIT 1)')["n"]
        return bool(n)

    def df(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Run a query and return its result as a polars frame."""
        con = _connect(self.path)
        try:
            return con.sql(sql, params=params or []).pl()
        finally:
            con.close()

    def one(self, sql: str, params: list[Any] | None = None) -> dict[str, Any]:
        """The first row of a query as a dict (column → Python value)."""
        con = _connect(self.path)
        try:
            cur = con.execute(sql, params or [])
            row = cur.fetchone()
            names = [d[0] for d in cur.description or []]
        finally:
            con.close()
        return dict(zip(names, row, strict=True)) if row is not None else dict.fromkeys(names)


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


@dataclass(frozen=True)
class Balde:
    """The time bucket of a chart: DuckDB's `date_trunc` unit, its step and its label."""

    unidade: str  # 'hour' | 'day' | 'week'
    passo: str  # SQL INTERVAL literal
    nome: str  # shown in titles: 'hora', 'dia', 'semana'
    formato: str  # strftime of a bucket's label


HORA = Balde("hour", "1 hour", "hora", "%d/%m %Hh")
DIA = Balde("day", "1 day", "dia", "%d/%m/%Y")
SEMANA = Balde("week", "7 days", "semana", "sem. %d/%m/%Y")


def balde(periodo: Periodo) -> Balde:
    """Hours for up to 3 days, days for up to ~3 months, weeks beyond."""
    if periodo.inicio is None or periodo.fim is None:
        return DIA
    dias = (periodo.fim - periodo.inicio).days + 1
    return HORA if dias <= 3 else DIA if dias <= 92 else SEMANA


def contagem_por_balde(
    wh: Warehouse,
    periodo: Periodo,
    fonte: str,
    params: list[Any],
    ts_expr: str,
    grupo_expr: str,
) -> pl.DataFrame:
    """Rows of `fonte` (a FROM … WHERE … fragment with `params`) counted per time bucket of
    the period (São Paulo wall time) and group. Every bucket of the period is present, with
    zero where nothing happened, so an idle hour is visible instead of vanishing.

    Columns: inicio (bucket start), rotulo (its label), grupo, eventos."""
    if periodo.inicio is None or periodo.fim is None:
        raise ValueError("a bucketed count needs a closed period")
    b = balde(periodo)
    return wh.df(
        f"""WITH e AS (SELECT date_trunc('{b.unidade}', {sp_local(ts_expr)}) AS inicio,
                              CAST({grupo_expr} AS VARCHAR) AS grupo {fonte}),
            c AS (SELECT inicio, grupo, count(*) AS eventos FROM e GROUP BY ALL),
            g AS (SELECT DISTINCT grupo FROM e),
            b AS (SELECT unnest(generate_series(date_trunc('{b.unidade}', ?::TIMESTAMP),
                                                ?::TIMESTAMP, INTERVAL '{b.passo}')) AS inicio)
            SELECT b.inicio, strftime(b.inicio, '{b.formato}') AS rotulo, g.grupo,
                   coalesce(c.eventos, 0)::BIGINT AS eventos
            FROM b CROSS JOIN g LEFT JOIN c USING (inicio, grupo)
            ORDER BY b.inicio, g.grupo""",
        [
            *params,
            dt.datetime.combine(periodo.inicio, dt.time()),
            dt.datetime.combine(periodo.fim, dt.time(23, 59, 59)),
        ],
    )


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
