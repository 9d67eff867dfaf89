"""The lake on S3-compatible storage (a real SeaweedFS): receiver, readers, compaction."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import obstore
import pytest
from obstore.store import S3Store
from scaleout_servers import BUCKET, SeaweedFS
from scaleout_support import TOKEN, body, lake_rows, new_tid, start_receiver

from ingest.lake_files import (
    LakeObject,
    day_files,
    partition_days,
    partition_files,
    partition_signature,
    read_table,
)
from ingest.lake_schema import NOTIFICACOES, NOTIFICACOES_SCHEMA, QUARENTENA
from ingest.object_store import ObjectExists, get_bytes, open_store, put_new
from ingest.records import Entrega, entregas_table
from ingest.s3_lake import parquet_bytes
from pipelines.core.compaction import compact_day
from pipelines.core.lake_sql import lake_view, parquet_source
from pipelines.defs.lake.assets import notificacoes_e_metadados, quarentena
from pipelines.resources import WarehouseResource
from settings import S3Lake, SettingsError, lake_location, parse_lake_url


def store_for(seaweed: SeaweedFS) -> S3Store:
    return S3Store(BUCKET, config=seaweed.aws_config(), client_options={"allow_http": True})


def materialize(data_dir: Path, day: str) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [notificacoes_e_metadados, quarentena],
            resources={"warehouse": WarehouseResource(data_dir=str(data_dir))},
            partition_key=day,
            instance=instance,
        )
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [(c.check_name, c.passed) for c in checks]


def warehouse(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_lake_url_precedence_and_parsing(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('lake_url = "s3://from-toml/p"\n')
    assert lake_location(tmp_path, env={}) == tmp_path / "lake"
    assert lake_location(tmp_path, env={"CCEE_WEBHOOK_CONFIG": str(toml)}) == S3Lake(
        "from-toml", "p"
    )
    env = {"CCEE_WEBHOOK_CONFIG": str(toml), "CCEE_WEBHOOK_LAKE_URL": "s3://b/x/y/"}
    assert lake_location(tmp_path, env=env) == S3Lake("b", "x/y")
    assert (
        S3Lake("b", "x/y").key("notificacoes", "dt=2026-01-01") == "x/y/notificacoes/dt=2026-01-01"
    )
    assert parse_lake_url("/srv/lake") == Path("/srv/lake")
    for bad in ("s3://", "gs://bucket/x"):
        with pytest.raises(SettingsError):
            parse_lake_url(bad)


def test_create_only_put_never_overwrites(seaweed: SeaweedFS) -> None:
    store = store_for(seaweed)
    key = f"t-{new_tid()}/x.parquet"
    put_new(store, key, b"first")
    put_new(store, key, b"first")  # a retried PUT whose first attempt landed: accepted
    with pytest.raises(ObjectExists):
        put_new(store, key, b"other")
    assert get_bytes(store, key) == b"first"


def test_receiver_readers_and_compaction_on_a_bucket(
    s3_lake: str, seaweed: SeaweedFS, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    rcv = start_receiver(data_dir, s3_lake, seaweed.aws_env(), "rx-s3")
    tids = [new_tid() for _ in range(30)]
    try:
        with httpx.Client(base_url=rcv.url, timeout=10) as client:
            for tid in tids:
                r = client.post(f"/ccee/{TOKEN}", content=body(tid))
                assert r.status_code == 201, r.text
            assert client.post(f"/ccee/{TOKEN}", content=body(tids[0])).status_code == 201
            bad = client.post(f"/ccee/{TOKEN}", content=b'{"transactionId": 1}')
            assert bad.status_code == 422
    finally:
        rcv.kill()
    # Nothing local: the receiver's data folder holds only its log.
    assert [p.name for p in data_dir.rglob("*")] == ["rx-s3.log"]

    days = partition_days(data_dir, NOTIFICACOES)
    assert len(days) in (1, 2)  # two when the test straddles São Paulo midnight
    day = days[-1]
    objs = day_files(data_dir, NOTIFICACOES, day)
    assert objs and all(isinstance(o, LakeObject) for o in objs)
    lake = parse_lake_url(s3_lake)
    assert isinstance(lake, S3Lake)
    for o in objs:
        assert isinstance(o, LakeObject)
        assert re.fullmatch(
            rf"{lake.url}/notificacoes/dt={day}/rx-s3-\d{{17}}-[0-9a-f]{{12}}\.parquet", str(o)
        )
        assert read_table(o).schema.equals(NOTIFICACOES_SCHEMA, check_metadata=False)
    rows = lake_rows(data_dir, NOTIFICACOES, days)
    assert sorted(r["transaction_id"] for r in rows) == sorted([*tids, tids[0]])
    assert {r["instancia"] for r in rows} == {"rx-s3"}
    assert len(lake_rows(data_dir, QUARENTENA, partition_days(data_dir, QUARENTENA))) == 1

    # The documented raw-lake query reads the bucket.
    with duckdb.connect() as con:
        assert lake_view(con, NOTIFICACOES, data_dir) == sum(
            len(partition_files(data_dir, NOTIFICACOES, d)) for d in days
        )
        assert con.execute(
            "SELECT count(DISTINCT transaction_id) FROM notificacoes"
        ).fetchone() == (30,)

    # Dagster assets read the bucket into the warehouse: one row per transaction.
    for d in days:
        materialize(data_dir, d.isoformat())
    expected = sorted((t,) for t in tids)
    assert warehouse(data_dir, "SELECT transaction_id FROM notificacoes ORDER BY 1") == expected
    assert warehouse(data_dir, "SELECT count(*) FROM quarentena") == [(1,)]

    # Compaction: one create-only object replaces the small ones; readers agree before/after.
    before = partition_signature(data_dir, NOTIFICACOES, day)
    sources = day_files(data_dir, NOTIFICACOES, day)
    if len(sources) < 2:  # group commit may have batched everything: add a second object
        rcv = start_receiver(data_dir, s3_lake, seaweed.aws_env(), "rx-s3b")
        tids.append(new_tid())
        try:
            assert httpx.post(f"{rcv.url}/ccee/{TOKEN}", content=body(tids[-1])).status_code == 201
        finally:
            rcv.kill()
        sources = day_files(data_dir, NOTIFICACOES, day)
        before = partition_signature(data_dir, NOTIFICACOES, day)
    done = compact_day(data_dir, NOTIFICACOES, day)
    assert done.destino and done.arquivos == len(sources)
    after = partition_files(data_dir, NOTIFICACOES, day)
    assert [f.name for f in after] == [done.destino]
    assert partition_signature(data_dir, NOTIFICACOES, day) != before

    # A crash between the compacted PUT and the deletes leaves a source behind: readers
    # skip it (the compacted footer names it) and the next compaction removes it.
    leftover = sources[0]
    assert isinstance(leftover, LakeObject)
    store = store_for(seaweed)
    put_new(store, f"{lake.prefix}/{leftover.key}", b"stale bytes never read")
    assert [f.name for f in partition_files(data_dir, NOTIFICACOES, day)] == [done.destino]
    again = compact_day(data_dir, NOTIFICACOES, day)
    assert again.sobras_removidas == 1 and again.destino is None
    assert [f.name for f in day_files(data_dir, NOTIFICACOES, day)] == [done.destino]

    for d in days:
        materialize(data_dir, d.isoformat())
    assert warehouse(data_dir, "SELECT transaction_id FROM notificacoes ORDER BY 1") == sorted(
        (t,) for t in tids
    )


def test_store_refusing_writes_means_503_and_not_ready(
    s3_lake: str, seaweed: SeaweedFS, tmp_path: Path
) -> None:
    """No acknowledgement without the store's: a wrong secret → 503, /readyz 503."""
    env = {**seaweed.aws_env(), "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    rcv = start_receiver(tmp_path / "data", s3_lake, env, "rx-denied", wait_ready=False)
    try:
        r = httpx.post(f"{rcv.url}/ccee/{TOKEN}", content=body(new_tid()), timeout=60)
        assert r.status_code == 503 and r.headers["retry-after"]
        assert httpx.get(f"{rcv.url}/readyz", timeout=60).status_code == 503
        assert "not-the-secret" not in rcv.log_path.read_text()
    finally:
        rcv.kill()
    assert list(obstore.list(store_for(seaweed), s3_lake.removeprefix(f"s3://{BUCKET}/"))) == []


def test_readers_union_objects_of_older_schema_with_their_positions(
    s3_lake: str, tmp_path: Path
) -> None:
    """Objects written before `avisos` existed read as NULL there (the loader makes them
    `[]`), whichever object comes first; `filename` is each object's URL and
    `file_row_number` counts from 0 within it, as DuckDB's `read_parquet` names them."""
    lake = parse_lake_url(s3_lake)
    assert isinstance(lake, S3Lake)
    store = open_store(lake)  # the lake's own client, rooted at its prefix
    day = date(2026, 3, 2)
    at = datetime(2026, 3, 2, 15, tzinfo=UTC)

    def rows(tids: list[str], avisos: tuple[str, ...]) -> list[Entrega]:
        return [
            Entrega(
                t, "CONTRATO.REGISTRADO", [("ID_CONTRATO", "1")], at, "/d", "P", "{}", "rx", avisos
            )
            for t in tids
        ]

    new = entregas_table(rows(["n0", "n1", "n2"], ("METADADO_SEM_VALOR",)))
    old = entregas_table(rows(["o0", "o1"], ())).drop_columns(["avisos"])
    # Names sort the old object first in one day and last in the other.
    put_new(store, f"{NOTIFICACOES}/dt={day}/a-old.parquet", parquet_bytes(old))
    put_new(store, f"{NOTIFICACOES}/dt={day}/b-new.parquet", parquet_bytes(new))
    put_new(store, f"{NOTIFICACOES}/dt=2026-03-03/z-old.parquet", parquet_bytes(old))
    put_new(store, f"{NOTIFICACOES}/dt=2026-03-03/a-new.parquet", parquet_bytes(new))

    for d in (day, date(2026, 3, 3)):
        files = partition_files(tmp_path, NOTIFICACOES, d)
        assert len(files) == 2
        with duckdb.connect() as con:
            src = parquet_source(con, files, with_position=True)
            got = con.execute(
                f"SELECT transaction_id, avisos, filename, file_row_number FROM {src} ORDER BY 1"
            ).fetchall()
        url = {f.name[2:5]: str(f) for f in files}
        assert got == [
            ("n0", ["METADADO_SEM_VALOR"], url["new"], 0),
            ("n1", ["METADADO_SEM_VALOR"], url["new"], 1),
            ("n2", ["METADADO_SEM_VALOR"], url["new"], 2),
            ("o0", None, url["old"], 0),
            ("o1", None, url["old"], 1),
        ]
    with duckdb.connect() as con:
        assert lake_view(con, NOTIFICACOES, tmp_path) == 4
        assert con.execute("SELECT count(*), count(avisos) FROM notificacoes").fetchone() == (10, 6)
