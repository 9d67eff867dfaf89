"""Secrets never reach logs, the lake, the warehouse or Dagster's records.

Runs last in the reliability suite (file name order) and scans EVERY file written under
pytest's base temp dir during the session: receiver stdout/stderr, lake Parquet files,
DuckDB warehouses, Dagster's on-disk event logs. The needles are this process's random
URL tokens, WS-Security password and certificate password (support.credentials.ALL_SECRETS), also
in their URL-encoded and base64 forms. The simulator's own database is CCEE's side (CCEE
legitimately knows the callback URL) and is the only thing excluded.

It first produces traffic of its own (an accepted, a refused, a wrong-path and a 5xx-path
request, a failing CCEE login) so the scan is meaningful when run alone too.
"""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path

import duckdb
import pytest
from support.callbacks import body_for
from support.credentials import ALL_SECRETS, TOKEN, walk_files
from support.receiver import start_receiver

from ccee.client import CCEEClient
from ccee.config import Profile, Secret
from ccee.errors import CCEEError


def _needles() -> dict[bytes, str]:
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


def _own_traffic(tmp: Path) -> None:
    rcv = start_receiver(tmp / "data", "--log-level", "debug")
    try:
        assert rcv.post(body_for()).status_code == 201
        assert rcv.post(b"{broken").status_code == 400
        assert rcv.post(body_for(), path=f"/ccee/{TOKEN}x").status_code == 404
        assert rcv.post(body_for(), path=f"/ccee/{TOKEN}/{TOKEN}/extra").status_code == 201
        assert rcv.client.get(f"/ccee/{TOKEN}").status_code == 405
    finally:
        rcv.stop()
    # A CCEE call that fails (nobody listens): its error must not carry the password.
    profile = Profile(
        name="default",
        url="http://127.0.0.1:9",
        codigo="7777",
        username="u",
        password=Secret(ALL_SECRETS["WS-Security password"]),
    )
    with pytest.raises(CCEEError) as info, CCEEClient(profile, timeout=1, retries=1) as c:
        c.listar_eventos()
    assert ALL_SECRETS["WS-Security password"] not in str(info.value)
    assert ALL_SECRETS["WS-Security password"] not in repr(profile)
    (tmp / "ccee-error.txt").write_text(f"{info.value!r}\n{profile!r}", encoding="utf-8")


def _decoded_text(path: Path) -> bytes:
    """Parquet (snappy) and DuckDB (FSST/dictionary) compress strings, so a raw byte scan can
    miss a secret: their rows are also decoded and scanned as JSON text."""
    with duckdb.connect() as con:
        if path.suffix == ".parquet":
            rows = con.execute(
                f"SELECT to_json(t)::VARCHAR FROM read_parquet('{path}') t"
            ).fetchall()
        elif path.suffix == ".duckdb":
            con.execute(f"ATTACH '{path}' AS w (READ_ONLY)")
            tables = con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'w'"
            ).fetchall()
            rows = []
            for schema, table in tables:
                rows += con.execute(
                    f'SELECT to_json(t)::VARCHAR FROM w."{schema}"."{table}" t'
                ).fetchall()
        else:
            return b""
    return "\n".join(r[0] for r in rows).encode("utf-8", "replace")


def test_no_secret_in_any_file_written_by_the_suite(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _own_traffic(tmp_path)
    base = tmp_path_factory.getbasetemp()
    needles = _needles()
    hits: list[str] = []
    failed: list[str] = []
    scanned = 0
    kinds: dict[str, int] = {}
    for path in walk_files([base]):
        if path.name.startswith("simulator.sqlite3") or path.name.startswith("sim.sqlite3"):
            continue  # CCEE's side: the callback URL is CCEE's to know
        if path.suffix in (".pem", ".key", ".pfx"):
            continue  # the throwaway PKI itself
        try:
            data = path.read_bytes()
        except OSError as exc:
            failed.append(f"{path.relative_to(base)}: unreadable ({exc.strerror})")
            continue
        try:
            data += _decoded_text(path)
        except duckdb.Error as exc:
            # The raw bytes above are still scanned; a file that cannot be decoded is a
            # failure of the scan (a compressed secret could hide in it), reported below.
            failed.append(f"{path.relative_to(base)}: not decodable ({type(exc).__name__})")
        scanned += 1
        kind = path.suffix or path.name
        kinds[kind] = kinds.get(kind, 0) + 1
        for needle, what in needles.items():
            if needle in data:
                hits.append(f"{what} in {path.relative_to(base)}")
    print(
        f"\nREL-NUMBERS secrets: files_scanned={scanned} by_kind={kinds} hits={len(hits)} "
        f"failed={len(failed)}"
    )
    assert scanned > 5
    assert hits == [], "secrets leaked:\n" + "\n".join(sorted(set(hits))[:30])
    assert failed == [], "files the scan could not fully read:\n" + "\n".join(failed[:30])


def test_scanner_sees_secrets_inside_compressed_files(tmp_path: Path) -> None:
    """The scan above is only as good as its decoding: a planted token must be found."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"corpo": [f"/ccee/{TOKEN}"] * 50}), tmp_path / "x.parquet")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT ? || range AS v FROM range(5000)", [TOKEN])
    for name in ("x.parquet", "w.duckdb"):
        assert TOKEN.encode() in _decoded_text(tmp_path / name), name
    # Move the canaries out of the scanned tree.
    for name in ("x.parquet", "w.duckdb"):
        (tmp_path / name).unlink()
