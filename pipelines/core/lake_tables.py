"""Lake → `notificacoes` and `metadados`: one row per transaction_id, replaced per day range.

A transaction is delivered again and again (CCEE retries every 5 minutes for 24 h), so its
deliveries can straddle two São Paulo days. The rows of days [d0, d1] are computed from the
lake folders [d0 − 1, d1 + 1]: a transaction belongs to the day of its first receipt, and its
last receipt / delivery count include the following day's retries. Its `avisos` is the union
of the deviation codes of all those deliveries (lake files older than the column count as none).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from ingest.lake_files import partition_files
from ingest.lake_schema import NOTIFICACOES
from pipelines.core.connections import transaction
from pipelines.core.lake_sql import parquet_source

#: How many neighbouring days a transaction's deliveries may span (24 h retry window).
NEIGHBOUR_DAYS = 1

DDL = """
CREATE TABLE IF NOT EXISTS notificacoes (
    transaction_id VARCHAR NOT NULL,
    perfil VARCHAR,
    evento_notificacao VARCHAR,
    entidade VARCHAR,
    evento VARCHAR,
    primeiro_recebimento TIMESTAMPTZ,
    ultimo_recebimento TIMESTAMPTZ,
    entregas INTEGER,
    dt DATE NOT NULL,
    avisos VARCHAR[]
);
-- warehouses created before the lake had `avisos` (issue 14) gain the column
ALTER TABLE notificacoes ADD COLUMN IF NOT EXISTS avisos VARCHAR[];
CREATE TABLE IF NOT EXISTS metadados (
    transaction_id VARCHAR NOT NULL,
    posicao INTEGER NOT NULL,
    nome VARCHAR,
    valor VARCHAR,
    dt DATE NOT NULL
);
"""


@dataclass(frozen=True)
class LakeLoad:
    """What one load did, for asset metadata."""

    arquivos: int
    entregas_lidas: int
    notificacoes: int
    metadados: int


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def days_between(d0: date, d1: date) -> list[date]:
    return [d0 + timedelta(days=i) for i in range((d1 - d0).days + 1)]


def _has_avisos(con: duckdb.DuckDBPyConnection, source: str) -> bool:
    """Whether any file of `source` has `avisos` (files written before issue 14 do not)."""
    columns = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    return any(c[0] == "avisos" for c in columns)


def stage_deliveries(
    con: duckdb.DuckDBPyConnection, data_dir: str | os.PathLike[str], d0: date, d1: date
) -> int:
    """Temp table `_entregas`: every delivery of lake days [d0-1, d1+1]; returns files read."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _entregas (
            transaction_id VARCHAR, evento_notificacao VARCHAR,
            metadados STRUCT(nome VARCHAR, valor VARCHAR)[], recebido_em TIMESTAMPTZ,
            perfil VARCHAR, dt DATE, arquivo VARCHAR, linha BIGINT, avisos VARCHAR[])
        """
    )
    n_files = 0
    margin = timedelta(days=NEIGHBOUR_DAYS)
    for day in days_between(d0 - margin, d1 + margin):
        files = partition_files(data_dir, NOTIFICACOES, day)
        if not files:
            continue
        n_files += len(files)
        inside = d0 <= day <= d1
        # Neighbour days only contribute timestamps: skip their metadata payload.
        meta = "metadados" if inside else "NULL"
        source = parquet_source(con, files, with_position=True)
        avisos = "coalesce(avisos, [])" if _has_avisos(con, source) else "[]::VARCHAR[]"
        con.execute(
            f"""
            INSERT INTO _entregas
            SELECT transaction_id, evento_notificacao, {meta}, recebido_em, perfil,
                   $day, filename, file_row_number, {avisos}
            FROM {source}
            """,
            {"day": day},
        )
    return n_files


def load_notificacoes(
    con: duckdb.DuckDBPyConnection, data_dir: str | os.PathLike[str], d0: date, d1: date
) -> LakeLoad:
    """Replace days [d0, d1] of `notificacoes` and `metadados` in one transaction."""
    ensure_tables(con)
    days = {"lo": d0, "hi": d1}
    with transaction(con):
        n_files = stage_deliveries(con, data_dir, d0, d1)
        lidas = con.execute(
            "SELECT count(*) FROM _entregas WHERE dt BETWEEN $lo AND $hi", days
        ).fetchone()[0]  # type: ignore[index]
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _primeiras AS
            WITH resumo AS (
                SELECT transaction_id,
                       arg_min(dt, (recebido_em, arquivo, linha)) AS dt_primeiro,
                       min(recebido_em) AS primeiro, max(recebido_em) AS ultimo,
                       count(*)::INTEGER AS entregas,
                       list_sort(list_distinct(flatten(list(avisos)))) AS avisos
                FROM _entregas GROUP BY transaction_id
            )
            SELECT e.transaction_id, e.perfil, e.evento_notificacao, e.metadados,
                   r.primeiro, r.ultimo, r.entregas, r.dt_primeiro AS dt, r.avisos
            FROM _entregas e JOIN resumo r USING (transaction_id)
            WHERE r.dt_primeiro BETWEEN $lo AND $hi
              AND e.dt BETWEEN $lo AND $hi
            QUALIFY row_number() OVER (
                PARTITION BY e.transaction_id ORDER BY e.recebido_em, e.arquivo, e.linha) = 1
            """,
            days,
        )
        con.execute("DELETE FROM notificacoes WHERE dt BETWEEN $lo AND $hi", days)
        con.execute("DELETE FROM metadados WHERE dt BETWEEN $lo AND $hi", days)
        con.execute(
            """
            INSERT INTO notificacoes (transaction_id, perfil, evento_notificacao, entidade,
                evento, primeiro_recebimento, ultimo_recebimento, entregas, dt, avisos)
            SELECT transaction_id, perfil, evento_notificacao,
                   CASE WHEN strpos(evento_notificacao, '.') > 0
                        THEN split_part(evento_notificacao, '.', 1) END,
                   CASE WHEN strpos(evento_notificacao, '.') > 0
                        THEN substr(evento_notificacao, strpos(evento_notificacao, '.') + 1) END,
                   primeiro, ultimo, entregas, dt, avisos
            FROM _primeiras ORDER BY dt, primeiro, transaction_id
            """
        )
        con.execute(
            """
            INSERT INTO metadados
            SELECT transaction_id, posicao::INTEGER, m.nome, NULLIF(m.valor, 'null'), dt
            FROM (
                SELECT transaction_id, dt, primeiro,
                       generate_subscripts(metadados, 1) - 1 AS posicao,
                       unnest(metadados) AS m
                FROM _primeiras
            )
            ORDER BY dt, primeiro, transaction_id, posicao
            """
        )
        n_notif = con.execute("SELECT count(*) FROM _primeiras").fetchone()[0]  # type: ignore[index]
        n_meta = con.execute("SELECT coalesce(sum(len(metadados)), 0) FROM _primeiras").fetchone()[
            0
        ]  # type: ignore[index]
        con.execute("DROP TABLE _primeiras")
        con.execute("DROP TABLE _entregas")
    return LakeLoad(
        arquivos=n_files,
        entregas_lidas=int(lidas),
        notificacoes=int(n_notif),
        metadados=int(n_meta),
    )
