"""The lake as DuckDB sees it: a table expression over a partition's current files, and the
documented raw-lake view, for a local folder or an `s3://` lake alike.

Which files are current is the lake's business (`ingest.lake_files`); how DuckDB reads them is
the pipeline's: local files through `read_parquet`, objects fetched and registered as Arrow
(DuckDB's httpfs extension cannot be installed without its own download site).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest.lake_files import LakeFile, partition_days, partition_files, read_table
from pipelines.core.names import quote_ident, quote_literal


def parquet_source(
    con: duckdb.DuckDBPyConnection, files: Sequence[LakeFile], *, with_position: bool = False
) -> str:
    """A DuckDB table expression over `files` (columns unioned by name); `with_position`
    adds `filename` and `file_row_number`, as `read_parquet` names them.

    Local files are read by DuckDB itself; objects are fetched and registered as one Arrow
    table on `con` (a short-lived connection: it goes with it).
    """
    if all(isinstance(f, Path) for f in files):
        lst = "[" + ", ".join(quote_literal(str(f)) for f in files) + "]"
        extra = ", filename = true, file_row_number = true" if with_position else ""
        return f"read_parquet({lst}, union_by_name = true{extra})"
    tables = []
    for f in files:
        t = read_table(f)
        if with_position:
            t = t.append_column("filename", pa.array([str(f)] * t.num_rows, pa.string()))
            t = t.append_column("file_row_number", pa.array(range(t.num_rows), pa.int64()))
        tables.append(t)
    name = f"_lago_{uuid.uuid4().hex}"
    # DuckDB 2 refuses new work while an earlier statement's result is still open (a
    # `fetchone()` leaves it so); the callers are done with theirs.
    con.complete()
    con.register(name, pa.concat_tables(tables, promote_options="default"))
    return name


def lake_view(
    con: duckdb.DuckDBPyConnection,
    table: str,
    data_dir: str | os.PathLike[str] | None = None,
    name: str | None = None,
) -> int:
    """Create the temp view `name` (default: the table's name) over every current file of a
    lake table, local or `s3://`; returns how many files it reads. The raw-lake query:

        con = duckdb.connect(); lake_view(con, "notificacoes")
        con.sql("SELECT evento_notificacao, count(*) FROM notificacoes GROUP BY ALL")
    """
    from settings import data_dir as default_data_dir

    folder = data_dir if data_dir is not None else default_data_dir()
    files = [
        f for day in partition_days(folder, table) for f in partition_files(folder, table, day)
    ]
    view = name or table
    if not files:
        raise FileNotFoundError(f"the lake has no {table} files yet")
    source = parquet_source(con, files)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS SELECT * FROM {source}")
    return len(files)
