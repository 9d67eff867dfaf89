"""Secrets never reach logs, the lake, the warehouse or Dagster's records.

The scan itself runs once every test has finished (`support.secret_scan`, called by the root
`conftest.py`), over every file any test wrote. This module makes sure the scan has
secret-bearing traffic to look at even when run alone, and that its decoding can find a secret
inside compressed files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from support.callbacks import body_for
from support.credentials import ALL_SECRETS, TOKEN
from support.receiver import start_receiver
from support.secret_scan import decoded_text, scan

from ccee.client import CCEEClient
from ccee.config import Profile, Secret
from ccee.errors import CCEEError


def test_secret_bearing_traffic_for_the_final_scan(tmp_path: Path) -> None:
    """An accepted, a refused, a wrong-path and a wrong-method request, logged at debug level,
    and a failing CCEE login: the files they leave are read by the final scan."""
    rcv = start_receiver(tmp_path / "data", "--log-level", "debug")
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
    with pytest.raises(CCEEError) as info, \
            CCEEClient(profile, timeout=1, retries=1) as c:
        c.listar_eventos()
    assert ALL_SECRETS["WS-Security password"] not in str(info.value)
    assert ALL_SECRETS["WS-Security password"] not in repr(profile)
    (tmp_path / "ccee-error.txt").write_text(f"{info.value!r}\n{profile!r}", encoding="utf-8")
    # What this test wrote is clean already (the final scan re-reads it with everything else).
    result = scan(tmp_path)
    assert result.scanned > 3 and result.kinds.get(".parquet", 0) >= 1, result.summary()
    assert result.hits == [] and result.failed == [], result


def test_scanner_sees_secrets_inside_compressed_files(tmp_path: Path) -> None:
    """The scan is only as good as its decoding: a planted token must be found, in raw bytes
    or decoded rows, and reported with its file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    canaries = tmp_path / "canaries"
    canaries.mkdir()
    pq.write_table(pa.table({"corpo": [f"/ccee/{TOKEN}"] * 50}), canaries / "x.parquet")
    with duckdb.connect(str(canaries / "w.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT ? || range AS v FROM range(5000)", [TOKEN])
    with duckdb.connect() as con:
        for name in ("x.parquet", "w.duckdb"):
            assert TOKEN.encode() in decoded_text(con, canaries / name), name
    found = scan(canaries)
    assert found.scanned == 2
    assert sorted(found.hits) == ["receiver URL token in w.duckdb",
                                  "receiver URL token in x.parquet"]
    # Move the canaries out of the scanned tree.
    for name in ("x.parquet", "w.duckdb"):
        (canaries / name).unlink()
