"""Warehouse checks as plain queries, so assets can return them with their materialization."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from ingest.lake_schema import NOTIFICACOES
from pipelines.core.lake import partition_files
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


def _lake_ids(files: list[str], param: str) -> str:
    """Subquery of the distinct transaction_ids of the Parquet files bound to `$param`."""
    if not files:
        return "(SELECT NULL::VARCHAR AS transaction_id WHERE false)"
    return f"(SELECT DISTINCT transaction_id FROM read_parquet(${param}, union_by_name = true))"


def counts_vs_lake(
    con: duckdb.DuckDBPyConnection, data_dir: str, d0: date, d1: date
) -> dict[str, tuple[int, int]]:
    """Per day: (rows in `notificacoes`, transaction_ids first seen in that lake folder).

    Recounted straight from the lake files (not from the load's staging tables): a
    transaction counts for the day folder it appears in unless the previous folder has it.
    """
    out = {}
    for day in days_between(d0, d1):
        files = {
            "day_files": [str(f) for f in partition_files(data_dir, NOTIFICACOES, day)],
            "previous_files": [
                str(f) for f in partition_files(data_dir, NOTIFICACOES, day - timedelta(days=1))
            ],
        }
        esperado = con.execute(
            f"SELECT count(*) FROM {_lake_ids(files['day_files'], 'day_files')} "
            "WHERE transaction_id NOT IN "
            f"{_lake_ids(files['previous_files'], 'previous_files')}",
            {k: v for k, v in files.items() if v},
        ).fetchone()
        real = con.execute("SELECT count(*) FROM notificacoes WHERE dt = ?", [day]).fetchone()
        assert esperado is not None and real is not None
        out[day.isoformat()] = (int(real[0]), int(esperado[0]))
    return out
