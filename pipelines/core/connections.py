"""Short-lived DuckDB connections to the warehouse, waiting politely for the file lock.

Dagster is the only writer, but readers (notebooks, analysts) may hold the file open
read-only between runs; a writer that finds the file locked polls until a deadline instead
of failing the run at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

LOCK_MARKERS = ("Could not set lock", "Conflicting lock", "lock on file")


@contextmanager
def connect(
    path: str | Path, *, read_only: bool = False, lock_timeout_s: float = 120.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (UTC session), closing it on exit; waits while the file is locked."""
    deadline = time.monotonic() + lock_timeout_s
    delay = 0.05
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not any(m in str(exc) for m in LOCK_MARKERS) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, or ROLLBACK on any error: a partition is replaced entirely or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
