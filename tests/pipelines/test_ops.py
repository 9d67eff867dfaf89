"""The lake sensor, the compaction, and `dg launch` from the project root (a real process: the
CLI is the point). The code location itself is checked in process in test_definitions.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
from support.dagster_runs import LAKE_ASSETS, Runner, query
from support.lake_builder import Entrega, write_notificacoes

from ingest.lake_files import partition_files
from ingest.lake_schema import NOTIFICACOES, NOTIFICACOES_SCHEMA, partition_dir
from pipelines.core.compaction import compact_day
from pipelines.defs.lake.sensors import lake_sensor
from pipelines.resources import WarehouseResource
from settings import lake_root

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 20)


def ts(h: int, m: int, day: int = 20) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=UTC)


def test_sensor_requests_changed_days_only(data_dir: Path) -> None:
    write_notificacoes(data_dir, [Entrega("a", "CONTRATO.REGISTRADO", [], ts(12, 0))])
    write_notificacoes(data_dir, [Entrega("b", "CONTRATO.REGISTRADO", [], ts(12, 0, day=21))])
    resources = {"warehouse": WarehouseResource(data_dir=str(data_dir))}

    def evaluate(cursor: str | None) -> tuple[list[str], str | None]:
        with dg.build_sensor_context(cursor=cursor, resources=resources) as ctx:
            out = lake_sensor(ctx)
            requests = list(out) if out is not None else []  # type: ignore[arg-type]
            return [r.partition_key for r in requests], ctx.cursor

    keys, cursor = evaluate(None)
    assert keys == ["2026-11-20", "2026-11-21"]
    assert evaluate(cursor)[0] == []  # nothing new
    write_notificacoes(data_dir, [Entrega("c", "CONTRATO.REGISTRADO", [], ts(13, 0, day=21))])
    # a new file on the 21st refreshes the 21st and the 20th (whose retries may land on the 21st)
    assert evaluate(cursor)[0] == ["2026-11-20", "2026-11-21"]


def test_compaction_is_lossless_and_skips_superseded_leftovers(data_dir: Path,
                                                               run: Runner) -> None:
    for i in range(5):
        write_notificacoes(data_dir, [
            Entrega(f"t{i}", "CONTRATO.REGISTRADO", [("ID_CONTRATO", str(i))], ts(12, i)),
            Entrega(f"t{i}", "CONTRATO.REGISTRADO", [("ID_CONTRATO", str(i))], ts(12, i + 5)),
        ])
    folder = partition_dir(lake_root(data_dir), NOTIFICACOES, DAY)
    before_files = sorted(p.name for p in folder.iterdir())
    assert run("2026-11-20", LAKE_ASSETS).success
    tables_before = query(data_dir, "SELECT * FROM notificacoes ORDER BY ALL")
    rows_before = sorted(map(str, pq.read_table(folder).to_pylist()))

    # a crash between publishing and removing: put the sources back beside the compacted file
    saved = {n: (folder / n).read_bytes() for n in before_files}
    r = compact_day(data_dir, NOTIFICACOES, DAY)
    assert (r.arquivos, r.linhas) == (5, 10)
    assert [p.name for p in folder.iterdir()] == [r.destino]
    for n, b in saved.items():
        (folder / n).write_bytes(b)
    assert [p.name for p in partition_files(data_dir, NOTIFICACOES, DAY)] == [r.destino]
    assert run("2026-11-20", LAKE_ASSETS).success
    assert query(data_dir, "SELECT * FROM notificacoes ORDER BY ALL") == tables_before

    # the next compaction removes the leftovers and keeps a single file with every row
    [t9_file] = write_notificacoes(
        data_dir, [Entrega("t9", "CONTRATO.REGISTRADO", [], ts(14, 0))]
    )
    t9_rows = [str(x) for x in pq.read_table(t9_file).to_pylist()]  # the input, not the output
    r2 = compact_day(data_dir, NOTIFICACOES, DAY)
    assert (r2.arquivos, r2.linhas, r2.sobras_removidas) == (2, 11, 5)
    assert [p.name for p in folder.iterdir()] == [r2.destino]
    rows_after = [str(x) for x in pq.read_table(folder / str(r2.destino)).to_pylist()]
    assert len(t9_rows) == 1
    assert sorted(rows_after) == sorted([*rows_before, *t9_rows])
    assert run("2026-11-20", LAKE_ASSETS).success
    assert query(data_dir, "SELECT count(*), sum(entregas) FROM notificacoes") == [(6, 11)]


def test_compaction_merges_files_from_before_and_after_a_new_column(data_dir: Path) -> None:
    """Old files (no `avisos`) and new ones compact into one file of today's schema."""
    write_notificacoes(data_dir, [Entrega("old", "CONTRATO.REGISTRADO", [], ts(12, 0))],
                       legacy=True)
    write_notificacoes(data_dir, [Entrega("new", "contrato.x", [], ts(12, 1),
                                          avisos=["codigo_fora_do_padrao"])])
    r = compact_day(data_dir, NOTIFICACOES, DAY)
    assert (r.arquivos, r.linhas) == (2, 2)
    folder = partition_dir(lake_root(data_dir), NOTIFICACOES, DAY)
    table = pq.read_table(folder / str(r.destino))
    assert table.schema.remove_metadata() == NOTIFICACOES_SCHEMA
    assert sorted(zip(table.column("transaction_id").to_pylist(),
                      table.column("avisos").to_pylist(), strict=True)) == [
        ("new", ["codigo_fora_do_padrao"]), ("old", [])]


def test_a_warehouse_from_before_avisos_gains_the_column(data_dir: Path, run: Runner) -> None:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    con.execute(
        "CREATE TABLE notificacoes (transaction_id VARCHAR NOT NULL, perfil VARCHAR, "
        "evento_notificacao VARCHAR, entidade VARCHAR, evento VARCHAR, "
        "primeiro_recebimento TIMESTAMPTZ, ultimo_recebimento TIMESTAMPTZ, entregas INTEGER, "
        "dt DATE NOT NULL)"
    )
    con.close()
    write_notificacoes(data_dir, [Entrega("x", "A", [], ts(12, 0),
                                          avisos=["codigo_fora_do_padrao"])])
    assert run("2026-11-20", LAKE_ASSETS).success
    assert query(data_dir, "SELECT transaction_id, entidade, avisos FROM notificacoes") == [
        ("x", None, ["codigo_fora_do_padrao"])]


def test_dg_launch_partition_and_range(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_notificacoes(data_dir, [Entrega("a", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "1")],
                                          ts(12, 0)),
                                  Entrega("b", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "2")],
                                          ts(12, 0, day=21))])
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    env.update(CCEE_WEBHOOK_DATA_DIR=str(data_dir), DAGSTER_HOME=str(home))
    dg_bin = Path(sys.executable).parent / "dg"
    # Every asset, reports included, takes a single-run backfill policy, so a range works on '*'.
    for args in (["--assets", "*", "--partition", "2026-11-20"],
                 ["--assets", "*", "--partition-range", "2026-11-20...2026-11-21"]):
        proc = subprocess.run([str(dg_bin), "launch", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "RUN_SUCCESS" in proc.stderr + proc.stdout
        assert "results pull skipped: no CCEE profile configured" in proc.stderr + proc.stdout
    assert query(data_dir, "SELECT transaction_id, dt FROM notificacoes ORDER BY 1") == [
        ("a", date(2026, 11, 20)), ("b", date(2026, 11, 21))]
    assert query(data_dir, "SELECT dia, notificacoes, no_lago_sem_resultado FROM sla_entrega "
                           "ORDER BY 1") == [(date(2026, 11, 20), 1, 1), (date(2026, 11, 21), 1, 1)]
    assert query(data_dir, "SELECT perfil, id_contrato, estado_atual, eventos FROM contratos "
                           "ORDER BY 2") == [("AGENTE1", 1, "REGISTRADO", 1),
                                             ("AGENTE1", 2, "REGISTRADO", 1)]
    # Both launches ran on the instance of DAGSTER_HOME and succeeded: one run per launch
    # (every asset takes a single-run backfill policy, so the range is one run too).
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the copied dagster.yaml reads it
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
        tags = [r.tags for r in reversed(runs)]
    assert tags[0].get("dagster/partition") == "2026-11-20"
    assert (
        tags[1].get("dagster/asset_partition_range_start"),
        tags[1].get("dagster/asset_partition_range_end"),
    ) == ("2026-11-20", "2026-11-21")
