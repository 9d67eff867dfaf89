"""Compaction of a lake day folder: many small receiver files → one file, losslessly.

Only files present when the compaction starts are touched, so a receiver writing new files
meanwhile is safe. The new file is written hidden (`.…tmp`), fsynced, verified by row count
against the sources' footers, published by an atomic rename, and names its sources in its
footer; only then are the sources removed. On an object-store lake the same rules hold with
a create-only PUT in place of the rename (`_compact_objects`). Readers that list files through
`ingest.lake_files.partition_files` skip a listed source even if a crash left it behind,
and the next compaction removes such leftovers.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.lake_files import (
    COMPACTED_PREFIX,
    SOURCES_KEY,
    LakeFile,
    LakeObject,
    day_files,
    lake_store,
    location,
    read_metadata,
    read_table,
    superseded,
)
from ingest.lake_schema import SCHEMAS, conform, partition_dir, partition_name
from ingest.object_store import delete, put_new
from settings import S3Lake


class CompactionError(RuntimeError):
    """The compacted file did not verify; the sources were left untouched."""


@dataclass(frozen=True)
class Compaction:
    dia: date
    arquivos: int
    linhas: int
    destino: str | None
    sobras_removidas: int


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _combine(files: list[LakeFile], table: str, label: str) -> tuple[pa.Table, int]:
    """The sources' rows as one table (lake schema when it matches), verified by row count
    against the sources' footers, with the source names in its metadata."""
    expected = sum(read_metadata(f).num_rows for f in files)
    tables = [read_table(f) for f in files]
    if table in SCHEMAS:
        # Older files lack columns added since: fill them (`conform`) so all files concatenate.
        tables = [conform(table, t) for t in tables]
    combined = pa.concat_tables(tables, promote_options="default")
    if combined.num_rows != expected:
        raise CompactionError(f"{label}: read {combined.num_rows} rows, footers say {expected}")
    meta = dict(combined.schema.metadata or {})
    meta[SOURCES_KEY] = "\n".join(f.name for f in files).encode("utf-8")
    return combined.replace_schema_metadata(meta), expected


def compact_day(
    data_dir: str | os.PathLike[str], table: str, day: date, min_files: int = 2
) -> Compaction:
    """Compact one day folder of a local or object-store lake (see the module docstring)."""
    files = day_files(data_dir, table, day)
    gone = superseded(files)
    # Leftovers of a compaction that crashed after publishing: their rows are already safe.
    leftovers = [f for f in files if f.name in gone]
    sources = [f for f in files if f.name not in gone]
    where = location(data_dir)
    if isinstance(where, S3Lake):
        return _compact_objects(where, table, day, sources, leftovers, min_files)
    assert isinstance(where, Path)
    folder = partition_dir(where, table, day)
    for f in leftovers:
        assert isinstance(f, Path)
        f.unlink(missing_ok=True)
    if len(sources) < min_files:
        if leftovers:
            _fsync_dir(folder)
        return Compaction(day, 0, 0, None, len(leftovers))

    combined, expected = _combine(sources, table, str(folder))
    final_name = f"{COMPACTED_PREFIX}{uuid.uuid4().hex}.parquet"
    tmp = folder / f".{final_name}.tmp"
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(combined, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        written = pq.read_metadata(tmp).num_rows
        if written != expected:
            raise CompactionError(f"{tmp}: wrote {written} rows, expected {expected}")
        os.replace(tmp, folder / final_name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    for f in sources:
        assert isinstance(f, Path)
        f.unlink(missing_ok=True)
    _fsync_dir(folder)
    return Compaction(day, len(sources), expected, final_name, len(leftovers))


def _compact_objects(
    lake: S3Lake,
    table: str,
    day: date,
    sources: list[LakeFile],
    leftovers: list[LakeFile],
    min_files: int,
) -> Compaction:
    """On object storage: PUT the compacted object create-only (whole or not at all), read
    its footer back from the store, then delete the sources. A crash in between leaves
    sources that readers skip (named in the compacted footer) and the next run deletes."""
    store = lake_store(lake)
    for f in leftovers:
        assert isinstance(f, LakeObject)
        delete(store, f.key)
    if len(sources) < min_files:
        return Compaction(day, 0, 0, None, len(leftovers))
    folder = f"{table}/{partition_name(day)}"
    combined, expected = _combine(sources, table, f"{lake.url}/{folder}")
    final_name = f"{COMPACTED_PREFIX}{uuid.uuid4().hex}.parquet"
    sink = pa.BufferOutputStream()
    pq.write_table(combined, sink, compression="zstd")
    key = f"{folder}/{final_name}"
    put_new(store, key, bytes(sink.getvalue()))
    written = read_metadata(LakeObject(lake, key, 0, datetime.now(UTC), store)).num_rows
    if written != expected:
        delete(store, key)
        raise CompactionError(f"{lake.url}/{key}: stored {written} rows, expected {expected}")
    for f in sources:
        assert isinstance(f, LakeObject)
        delete(store, f.key)
    return Compaction(day, len(sources), expected, final_name, len(leftovers))
