"""Reading the lake, local or on object storage: which files make up a day partition, now.

Readers list files themselves (rather than a glob) so that a compacted file and the small
files it replaced are never both counted: a compacted file names its sources in its Parquet
footer, and any listed source is skipped even if it is still there.

Where the lake is comes from the settings home (`settings.lake_location`): a local folder
(default `<data folder>/lake`) or `s3://bucket/prefix`. On object storage a file is a
`LakeObject`, listed and its footer read with the lake's S3 client (obstore); the pipelines
read many objects' rows through polars' object-store client (`pipelines.core.lake_sql`,
chosen by `benchmarks/lake_readers.py`): DuckDB cannot read `s3://` itself here (its httpfs
extension is downloaded at run time from DuckDB's own site, which this project's machines
cannot reach, and PyPI's builds are for older DuckDBs only).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from obstore.store import S3Store

from ingest.lake_schema import is_data_file, partition_dir, partition_name
from ingest.object_store import get_bytes, get_tail, list_folders, list_objects, open_store
from settings import LakeLocation, S3Lake, lake_location

#: Compacted files start with this prefix and list their sources under this footer key.
COMPACTED_PREFIX = "compactado-"
SOURCES_KEY = b"ccee_webhook.compactou"


@dataclass(frozen=True)
class LakeObject:
    """A data file of an object-store lake; `str()` is its `s3://` URL."""

    lake: S3Lake
    key: str  # relative to the lake's prefix
    size: int
    modified: datetime
    store: S3Store = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def __str__(self) -> str:
        return f"{self.lake.url}/{self.key}"


#: A finished lake data file: a local path or an object.
LakeFile = Path | LakeObject


@functools.lru_cache(maxsize=8)
def _store(lake: S3Lake) -> S3Store:
    return open_store(lake)


def lake_store(lake: S3Lake) -> S3Store:
    """The (cached) S3 client for an object-store lake."""
    return _store(lake)


def location(data_dir: str | os.PathLike[str]) -> LakeLocation:
    """Where the lake of this data folder is (`$CCEE_WEBHOOK_LAKE_URL` may move it)."""
    return lake_location(data_dir)


def read_table(f: LakeFile) -> pa.Table:
    if isinstance(f, LakeObject):
        return pq.read_table(pa.BufferReader(get_bytes(f.store, f.key)))
    return pq.read_table(f)


def read_metadata(f: LakeFile) -> pq.FileMetaData:
    """The Parquet footer only (an object is read by range: footer, not the whole file)."""
    if isinstance(f, LakeObject):
        return pq.read_metadata(pa.BufferReader(_footer(f)))
    return pq.read_metadata(f)


def _footer(f: LakeObject, guess: int = 64 * 1024) -> bytes:
    """A Parquet object's footer as a minimal Parquet byte string (`PAR1` + footer), read
    with one ranged GET (two when the footer is larger than `guess`)."""
    tail = get_tail(f.store, f.key, guess)
    if len(tail) < 12 or tail[-4:] != b"PAR1":
        raise OSError(f"{f}: not a Parquet object")
    need = int.from_bytes(tail[-8:-4], "little") + 8
    if need > len(tail):
        tail = get_tail(f.store, f.key, need)
    return b"PAR1" + tail[-need:]


def compacted_sources(f: LakeFile) -> set[str]:
    """File names a compacted file replaced (empty for an ordinary file)."""
    meta = read_metadata(f).metadata or {}
    raw = meta.get(SOURCES_KEY)
    if not raw:
        return set()
    return set(raw.decode("utf-8").split("\n"))


def day_files(data_dir: str | os.PathLike[str], table: str, day: date) -> list[LakeFile]:
    """Every finished data file of one `dt=` folder, sorted by name (superseded included)."""
    where = location(data_dir)
    if isinstance(where, S3Lake):
        store = lake_store(where)
        folder = f"{table}/{partition_name(day)}"
        objs = [
            LakeObject(where, key, size, modified, store)
            for key, size, modified in list_objects(store, folder)
        ]
        return sorted(
            (o for o in objs if "/" not in o.key[len(folder) + 1 :] and is_data_file(o.name)),
            key=lambda o: o.name,
        )
    local = partition_dir(where, table, day)
    if not local.is_dir():
        return []
    return [local / n for n in sorted(os.listdir(local)) if is_data_file(n)]


def _name(f: LakeFile) -> str:
    return f.name


def superseded(files: Sequence[LakeFile]) -> set[str]:
    """Names listed as sources by the compacted files among `files`."""
    out: set[str] = set()
    for f in files:
        if _name(f).startswith(COMPACTED_PREFIX):
            try:
                out |= compacted_sources(f)
            except FileNotFoundError:
                continue  # replaced by a newer compaction meanwhile
    return out


def partition_files(data_dir: str | os.PathLike[str], table: str, day: date) -> list[LakeFile]:
    """Finished data files of one `dt=` folder, minus those superseded by a compaction."""
    files = day_files(data_dir, table, day)
    gone = superseded(files)
    return [f for f in files if _name(f) not in gone]


def partition_days(data_dir: str | os.PathLike[str], table: str) -> list[date]:
    """Every `dt=` day folder present for a lake table, sorted."""
    where = location(data_dir)
    if isinstance(where, S3Lake):
        names = list_folders(lake_store(where), table)
    else:
        base = where / table
        names = [e.name for e in base.iterdir() if e.is_dir()] if base.is_dir() else []
    days = []
    for name in names:
        if name.startswith("dt="):
            try:
                days.append(date.fromisoformat(name[3:]))
            except ValueError:
                continue
    return sorted(days)


def partition_signature(data_dir: str | os.PathLike[str], table: str, day: date) -> str:
    """Cheap change detector for a day folder: file count, total size and newest mtime."""
    where = location(data_dir)
    count = size = newest = 0
    if isinstance(where, S3Lake):
        for o in day_files(data_dir, table, day):
            assert isinstance(o, LakeObject)
            count, size = count + 1, size + o.size
            newest = max(newest, int(o.modified.timestamp() * 1_000_000))
        return f"{count}:{size}:{newest}" if count else "0"
    folder = partition_dir(where, table, day)
    try:
        with os.scandir(folder) as entries:
            for e in entries:
                if not is_data_file(e.name):
                    continue
                try:
                    st = e.stat()
                except FileNotFoundError:
                    continue
                count += 1
                size += st.st_size
                newest = max(newest, st.st_mtime_ns)
    except FileNotFoundError:
        return "0"
    return f"{count}:{size}:{newest}"
