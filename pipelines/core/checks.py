"""Warehouse checks as plain queries, so assets can return them with their materialization."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from ingest.lake_files import partition_files
from ingest.lake_schema import NOTIFICACOES
from pipelines.core.lake_sql import parquet_source
from pipelines.core.lake_tables import days_between
from pipelines.core.names import quote_ident


def duplicate_keys(
    con: duckdb.DuckDBPyConnection, tabela: str, chave: str = "transaction_id"
) -> int:
    """How many key values appear more than once in a table (whole table, all partitions)."""
    row = con.execute(
        f"SELECT count(*) FROM (SELECT {quote_ident(chave)} FROM {quote_ident(tabela)} "
        f"GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()
    return int(row[0]) if row else 0


def _lake_ids(con: duckdb.DuckDBPyConnection, data_dir: str, day: date) -> str:
    files = partition_files(data_dir, NOTIFICACOES, day)
    if not files:
        return "(SELECT NULL::VARCHAR AS transaction_id WHERE false)"
    return f"(SELECT DISTINCT transaction_id FROM {parquet_source(con, files)})"


def counts_vs_lake(
    con: duckdb.DuckDBPyConnection, data_dir: str, d0: date, d1: date
) -> dict[str, tuple[int, int]]:
    """Per day: (rows in `notificacoes`, transaction_ids first seen in that lake folder).

    Recounted straight from the lake files (not from the load's staging tables): a
    transaction counts for the day folder it appears in unless the previous folder has it.
    """
    out = {}
    for day in days_between(d0, d1):
        esperado = con.execute(
            f"SELECT count(*) FROM {_lake_ids(con, data_dir, day)} "
            f"WHERE transaction_id NOT IN {_lake_ids(con, data_dir, day - timedelta(days=1))}"
        ).fetchone()
        real = con.execute("SELECT count(*) FROM notificacoes WHERE dt = ?", [day]).fetchone()
        assert esperado is not None and real is not None
        out[day.isoformat()] = (int(real[0]), int(esperado[0]))
    return out
