"""Compaction of a lake day folder: many small receiver files → one file, losslessly.

Only files present when the compaction starts are touched, so a receiver writing new files
meanwhile is safe. The new file is written hidden (`.…tmp`), fsynced, verified by row count
against the sources' footers, published by an atomic rename, and names its sources in its
footer; only then are the sources removed. Readers that list files through
`pipelines.core.lake.partition_files` skip a listed source even if a crash left it behind,
and the next compaction removes such leftovers.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.lake_schema import SCHEMAS, is_data_file, partition_dir
from pipelines.core.lake import COMPACTED_PREFIX, SOURCES_KEY, compacted_sources
from settings import lake_root


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


def compact_day(
    data_dir: str | os.PathLike[str], table: str, day: date, min_files: int = 2
) -> Compaction:
    folder = partition_dir(lake_root(data_dir), table, day)
    names = sorted(n for n in os.listdir(folder) if is_data_file(n)) if folder.is_dir() else []
    superseded: set[str] = set()
    for n in names:
        if n.startswith(COMPACTED_PREFIX):
            superseded |= compacted_sources(folder / n)
    # Leftovers of a compaction that crashed after publishing: their rows are already safe.
    leftovers = [n for n in names if n in superseded]
    for n in leftovers:
        (folder / n).unlink(missing_ok=True)
    sources = [n for n in names if n not in superseded]
    if len(sources) < min_files:
        if leftovers:
            _fsync_dir(folder)
        return Compaction(day, 0, 0, None, len(leftovers))

    expected = sum(pq.read_metadata(folder / n).num_rows for n in sources)
    tables = [pq.read_table(folder / n) for n in sources]
    schema = SCHEMAS.get(table)
    combined = pa.concat_tables(tables, promote_options="default")
    if schema is not None and set(combined.schema.names) == set(schema.names):
        combined = combined.select(schema.names).cast(schema)
    if combined.num_rows != expected:
        raise CompactionError(f"{folder}: read {combined.num_rows} rows, footers say {expected}")
    meta = dict(combined.schema.metadata or {})
    meta[SOURCES_KEY] = "\n".join(sources).encode("utf-8")
    combined = combined.replace_schema_metadata(meta)

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
    for n in sources:
        (folder / n).unlink(missing_ok=True)
    _fsync_dir(folder)
    return Compaction(day, len(sources), expected, final_name, len(leftovers))
