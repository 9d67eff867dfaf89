"""Three receivers on one bucket, one killed mid-load; Dagster on PostgreSQL builds the
warehouse from the bucket (its daemon runs the lake sensor and launches the runs)."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import psycopg2
from scaleout_servers import Postgres, SeaweedFS, wait_until
from scaleout_support import TOKEN, Receiver, body, lake_rows, new_tid, start_receiver

from ingest.lake_files import day_files, partition_days, read_table
from ingest.lake_schema import NOTIFICACOES

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 64
DELIVERIES = 900  # bounded: the load stops after this many requests or LOAD_SECONDS
LOAD_SECONDS = 60.0
KILL_AFTER_ACKS = DELIVERIES // 3  # the victim dies mid-load, whatever the machine's speed


async def load(receivers: list[Receiver], victim: Receiver) -> tuple[set[str], set[str]]:
    """64 connections spread round-robin over the receivers, each posting new deliveries;
    the victim is SIGKILLed once a third of them are acknowledged and its connections move
    to the others (a load balancer's failover).

    Returns (acknowledged, sent to the victim without an answer)."""
    acked: set[str] = set()
    unanswered: set[str] = set()
    sent = itertools.count()
    started = time.monotonic()
    alive = [r for r in receivers if r is not victim]

    async def killer() -> None:
        while len(acked) < KILL_AFTER_ACKS and time.monotonic() - started < LOAD_SECONDS:
            await asyncio.sleep(0.005)  # polling the shared count, not synchronising
        os.killpg(victim.proc.pid, signal.SIGKILL)

    async def connection(i: int) -> None:
        target = receivers[i % len(receivers)]
        async with httpx.AsyncClient(timeout=30) as client:
            while time.monotonic() - started < LOAD_SECONDS and next(sent) < DELIVERIES:
                tid = new_tid()
                try:
                    r = await client.post(f"{target.url}/ccee/{TOKEN}", content=body(tid))
                except httpx.HTTPError:
                    assert target is victim, f"a surviving receiver failed: {target.url}"
                    unanswered.add(tid)
                    target = alive[i % len(alive)]
                    continue
                if r.status_code == 201:
                    acked.add(tid)
                else:
                    assert r.status_code == 503, r.text  # never acknowledged: CCEE retries

    await asyncio.gather(killer(), *(connection(i) for i in range(CONNECTIONS)))
    return acked, unanswered


def warehouse_ids(data_dir: Path) -> list[str] | None:
    """transaction_ids in the warehouse, or None while it does not exist / is being written."""
    path = data_dir / "warehouse.duckdb"
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return [r[0] for r in con.execute("SELECT transaction_id FROM notificacoes").fetchall()]
    except duckdb.Error:  # the writer holds the file, or the table is not created yet
        return None


def test_three_receivers_one_killed_and_the_postgres_backed_daemon(
    s3_lake: str, seaweed: SeaweedFS, postgres: Postgres, tmp_path: Path
) -> None:
    receivers = [
        start_receiver(tmp_path / f"host{i}", s3_lake, seaweed.aws_env(), f"rx-{i}")
        for i in range(3)
    ]
    victim = receivers[1]
    try:
        acked, unanswered = asyncio.run(load(receivers, victim))
    finally:
        for r in receivers:
            r.kill()
    assert victim.proc.returncode == -signal.SIGKILL
    assert len(acked) > KILL_AFTER_ACKS, len(acked)
    assert unanswered, "the kill did not interrupt any request"

    # 0 acknowledged deliveries missing; every object whole and readable.
    data_dir = tmp_path / "warehouse-host"
    days = partition_days(data_dir, NOTIFICACOES)
    objects = [f for d in days for f in day_files(data_dir, NOTIFICACOES, d)]
    for f in objects:
        read_table(f)
    in_lake = {r["transaction_id"] for r in lake_rows(data_dir, NOTIFICACOES, days)}
    assert acked - in_lake == set()
    # The only extras: deliveries the victim stored but could not answer before it died.
    assert in_lake - acked <= unanswered
    writers = {r["instancia"] for r in lake_rows(data_dir, NOTIFICACOES, days)}
    assert writers == {"rx-0", "rx-1", "rx-2"}

    # Dagster for a team: PostgreSQL storage, the daemon as its own process; its lake
    # sensor finds the new days in the bucket and its run queue launches the loads.
    pg_url = postgres.create_database(f"dagster_{tmp_path.name[-20:].replace('-', '_').lower()}")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.postgres.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCEE_WEBHOOK_", "AWS_"))}
    env.update(seaweed.aws_env())
    env.update(
        DAGSTER_HOME=str(home),
        DAGSTER_POSTGRES_URL=pg_url,
        CCEE_WEBHOOK_DATA_DIR=str(data_dir),
        CCEE_WEBHOOK_LAKE_URL=s3_lake,
    )
    daemon_log = tmp_path / "daemon.log"
    with open(daemon_log, "wb") as log:
        daemon = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster-daemon"),
                "run",
                "-m",
                "pipelines.definitions",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pg = pg_url.replace("+psycopg2", "")

    def lake_runs_succeeded() -> int:
        try:
            with psycopg2.connect(pg) as con, con.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM runs "
                    "WHERE pipeline_name = 'lake_job' AND status = 'SUCCESS'"
                )
                row = cur.fetchone()
        except psycopg2.errors.UndefinedTable:  # the daemon has not created its schema yet
            return 0
        return int(row[0]) if row else 0

    try:
        wait_until(
            lambda: (
                lake_runs_succeeded() >= len(days)
                and sorted(warehouse_ids(data_dir) or []) == sorted(in_lake)
            ),
            420,  # generous for a shared, overloaded machine; ~1 min on an idle 2-core one
            "the daemon's runs to load every delivery in the bucket",
        )
    except AssertionError:
        raise AssertionError(daemon_log.read_text()[-4000:]) from None
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
    ids = warehouse_ids(data_dir)
    assert ids is not None and len(ids) == len(set(ids)) == len(in_lake)  # each once
    assert acked <= set(ids)

    # The runs and the sensor's ticks are PostgreSQL's, not a local file's.
    with psycopg2.connect(pg_url.replace("+psycopg2", "")) as con, con.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM runs WHERE pipeline_name = 'lake_job' AND status = 'SUCCESS'"
        )
        assert cur.fetchone()[0] >= len(days)
        cur.execute("SELECT count(*) FROM job_ticks")
        assert cur.fetchone()[0] >= 1
    assert not (home / "history").exists() and not (home / "schedules").exists()
