"""The suite's final secret scan: no secret of this run in any file the suite wrote.

It reads every file under pytest's base temp dir (receiver stdout/stderr, lake Parquet files,
DuckDB warehouses, Dagster's on-disk event logs) once every test has finished, which under
pytest-xdist only the controller knows: the root `conftest.py` calls `scan()` from
`pytest_sessionfinish` and fails the run on any hit. The needles are the run's URL tokens,
WS-Security password and certificate password (`support.credentials.ALL_SECRETS`, shared by
every worker), also URL-encoded, base64 and UTF-16. The simulator's own database is CCEE's
side (CCEE legitimately knows the callback URL) and is the only thing excluded.
"""

from __future__ import annotations

import base64
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from support.credentials import ALL_SECRETS, walk_files

#: CCEE's side: the callback URL, token included, is CCEE's to know
CCEE_SIDE = ("simulator.sqlite3", "sim.sqlite3")
#: the throwaway PKI itself
PKI = (".pem", ".key", ".pfx")


@dataclass
class ScanResult:
    scanned: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"secret scan: files_scanned={self.scanned} by_kind={self.kinds} "
                f"hits={len(self.hits)} failed={len(self.failed)}")


def needles() -> dict[bytes, str]:
    out: dict[bytes, str] = {}
    for what, secret in ALL_SECRETS.items():
        for form in (
            secret,
            urllib.parse.quote(secret),
            base64.b64encode(secret.encode()).decode(),
        ):
            out[form.encode()] = what
            out[form.encode("utf-16-le")] = what + " (UTF-16)"
    return out


def decoded_text(con: duckdb.DuckDBPyConnection, path: Path) -> bytes:
    """Parquet (snappy) and DuckDB (FSST/dictionary) compress strings, so a raw byte scan can
    miss a secret: their rows are also decoded and scanned as JSON text."""
    if path.suffix == ".parquet":
        rows = con.execute("SELECT to_json(t)::VARCHAR FROM read_parquet(?) t", [str(path)])
        return "\n".join(r[0] for r in rows.fetchall()).encode("utf-8", "replace")
    if path.suffix != ".duckdb":
        return b""
    con.execute("ATTACH ? AS w (READ_ONLY)", [str(path)])
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'w'"
        ).fetchall()
        text = []
        for schema, table in tables:
            text += [r[0] for r in con.execute(
                f'SELECT to_json(t)::VARCHAR FROM w."{schema}"."{table}" t').fetchall()]
    finally:
        con.execute("DETACH w")
    return "\n".join(text).encode("utf-8", "replace")


def scan(base: Path) -> ScanResult:
    """Every regular file under `base`, raw bytes plus decoded rows, against every needle."""
    found = needles()
    out = ScanResult()
    with duckdb.connect() as con:
        for path in walk_files([base]):
            if path.name.startswith(CCEE_SIDE) or path.suffix in PKI:
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                out.failed.append(f"{path.relative_to(base)}: unreadable ({exc.strerror})")
                continue
            try:
                data += decoded_text(con, path)
            except duckdb.Error as exc:
                # The raw bytes above are still scanned; a file that cannot be decoded is a
                # failure of the scan (a compressed secret could hide in it).
                out.failed.append(
                    f"{path.relative_to(base)}: not decodable ({type(exc).__name__})")
            out.scanned += 1
            kind = path.suffix or path.name
            out.kinds[kind] = out.kinds.get(kind, 0) + 1
            out.hits += [f"{what} in {path.relative_to(base)}"
                         for needle, what in found.items() if needle in data]
    return out
