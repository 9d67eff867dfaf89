"""Reading the lake: which files make up a day partition, right now.

Readers list files themselves (rather than a glob) so that a compacted file and the small
files it replaced are never both counted: a compacted file names its sources in its Parquet
footer, and any listed source is skipped even if it is still on disk.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from ingest.lake_schema import is_data_file, partition_dir
from settings import lake_root

#: Compacted files start with this prefix and list their sources under this footer key.
COMPACTED_PREFIX = "compactado-"
SOURCES_KEY = b"ccee_webhook.compactou"


def compacted_sources(path: Path) -> set[str]:
    """File names a compacted file replaced (empty for an ordinary file)."""
    meta = pq.read_metadata(path).metadata or {}
    raw = meta.get(SOURCES_KEY)
    if not raw:
        return set()
    return set(raw.decode("utf-8").split("\n"))


def partition_files(data_dir: str | os.PathLike[str], table: str, day: date) -> list[Path]:
    """Finished data files of one `dt=` folder, minus those superseded by a compaction."""
    folder = partition_dir(lake_root(data_dir), table, day)
    if not folder.is_dir():
        return []
    names = sorted(n for n in os.listdir(folder) if is_data_file(n))
    superseded: set[str] = set()
    for name in names:
        if name.startswith(COMPACTED_PREFIX):
            try:
                superseded |= compacted_sources(folder / name)
            except FileNotFoundError:
                continue
    return [folder / n for n in names if n not in superseded]


def partition_days(data_dir: str | os.PathLike[str], table: str) -> list[date]:
    """Every `dt=` day folder present for a lake table, sorted."""
    base = lake_root(data_dir) / table
    if not base.is_dir():
        return []
    days = []
    for entry in base.iterdir():
        if entry.is_dir() and entry.name.startswith("dt="):
            try:
                days.append(date.fromisoformat(entry.name[3:]))
            except ValueError:
                continue
    return sorted(days)


def partition_signature(data_dir: str | os.PathLike[str], table: str, day: date) -> str:
    """Cheap change detector for a day folder: file count, total size and newest mtime."""
    folder = partition_dir(lake_root(data_dir), table, day)
    count = size = newest = 0
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
