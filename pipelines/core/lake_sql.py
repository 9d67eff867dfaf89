"""The lake as DuckDB sees it: a table expression over a partition's current files, and the
documented raw-lake view, for a local folder or an `s3://` lake alike.

Which files are current is the lake's business (`ingest.lake_files`); how DuckDB reads them is
the pipeline's: local files through `read_parquet`; objects through polars' own object-store
client (`pl.scan_parquet` on the `s3://` URLs, many GETs in flight), the frame handed to
DuckDB. Chosen by measurement (`benchmarks/lake_readers.py`, README "Scaling out"): it beat
fetching each object with obstore + pyarrow (the first implementation) by ~1.8x on a day of
small group-commit objects and on the raw-lake scan, and DuckDB's own httpfs cannot be had for
the project's DuckDB (downloaded from DuckDB's site at run time; PyPI bundles only older
DuckDBs' builds, which measured slower still).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from ingest.lake_files import LakeFile, LakeObject, partition_days, partition_files
from ingest.lake_schema import SCHEMAS
from ingest.object_store import storage_options
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
    name = f"_lago_{uuid.uuid4().hex}"
    frame = read_objects(files, with_position=with_position)
    # DuckDB 2 refuses new work while an earlier statement's result is still open (a
    # `fetchone()` leaves it so); the callers are done with theirs.
    con.complete()
    con.register(name, frame)
    return name


def _lake_schema(files: Sequence[LakeObject]) -> pl.Schema | None:
    """Today's schema of the files' lake table (they are all of one table), if known."""
    tables = {f.key.split("/", 1)[0] for f in files}
    table = tables.pop() if len(tables) == 1 else None
    if table not in SCHEMAS:
        return None
    empty = pl.from_arrow(SCHEMAS[table].empty_table())
    assert isinstance(empty, pl.DataFrame)
    return empty.schema


def read_objects(files: Sequence[LakeFile], *, with_position: bool = False) -> pl.DataFrame:
    """Every row of lake objects in one polars frame, read by polars' object-store client.

    Columns follow the table's schema: a column an older file lacks (`avisos`) is NULL, as
    DuckDB's `union_by_name` would make it. `with_position` adds `filename` (the object's
    `s3://` URL) and `file_row_number` (0-based within its object).
    """
    objs = [f for f in files if isinstance(f, LakeObject)]
    if len(objs) != len(files):
        raise ValueError("a lake is local or on object storage, not both")
    frame = pl.scan_parquet(
        [str(f) for f in objs],
        schema=_lake_schema(objs),
        missing_columns="insert",
        extra_columns="ignore",
        hive_partitioning=False,
        storage_options=storage_options(),
        credential_provider=None,  # only the lake's AWS environment, as every other part
        include_file_paths="filename" if with_position else None,
    )
    if with_position:
        frame = frame.with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).over("filename").alias("file_row_number")
        )
    return frame.collect()


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
