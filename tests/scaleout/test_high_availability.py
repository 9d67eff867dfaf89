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
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psycopg2
from scaleout_servers import Postgres, SeaweedFS, free_ports, wait_until
from scaleout_support import TOKEN, Receiver, body, lake_rows, new_tid, start_receiver
from support.processes import stop_session

from ingest.lake_files import day_files, partition_days, read_table
from ingest.lake_schema import NOTIFICACOES, QUARENTENA

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 64
DELIVERIES = 900  # bounded: the load stops after this many requests or LOAD_SECONDS
LOAD_SECONDS = 60.0
KILL_AFTER_ACKS = DELIVERIES // 3  # the victim dies mid-load, whatever the machine's speed


INVALID_EVERY = 10  # one request in ten is a body the receivers must refuse and quarantine


def invalid_body(tid: str, n: int) -> bytes:
    """A refused body that still names `tid`: a non-string event (422) or cut-off JSON (400)."""
    if n % 2:
        return body(tid).replace(b'"CONTRATO.REGISTRADO"', b"42")
    return body(tid)[:-1]  # the closing brace missing


@dataclass
class Load:
    """What the load sent, by outcome (transactionIds)."""

    acked: set[str] = field(default_factory=set)  # 201
    unanswered: set[str] = field(default_factory=set)  # valid, sent to the victim, no answer
    refused: set[str] = field(default_factory=set)  # invalid, answered 4xx
    refused_unanswered: set[str] = field(default_factory=set)  # invalid, victim, no answer


async def load(receivers: list[Receiver], victim: Receiver) -> Load:
    """64 connections spread round-robin over the receivers, each posting new deliveries
    (one in INVALID_EVERY invalid); the victim is SIGKILLed once a third of them are
    acknowledged and its connections move to the others (a load balancer's failover)."""
    out = Load()
    sent = itertools.count()
    started = time.monotonic()
    alive = [r for r in receivers if r is not victim]

    async def killer() -> None:
        while len(out.acked) < KILL_AFTER_ACKS and time.monotonic() - started < LOAD_SECONDS:
            await asyncio.sleep(0.005)  # polling the shared count, not synchronising
        os.killpg(victim.proc.pid, signal.SIGKILL)

    async def connection(i: int) -> None:
        target = receivers[i % len(receivers)]
        async with httpx.AsyncClient(timeout=30) as client:
            while time.monotonic() - started < LOAD_SECONDS and (n := next(sent)) < DELIVERIES:
                tid = new_tid()
                valid = n % INVALID_EVERY != 0
                content = body(tid) if valid else invalid_body(tid, n // INVALID_EVERY)
                try:
                    r = await client.post(f"{target.url}/ccee/{TOKEN}", content=content)
                except httpx.HTTPError:
                    assert target is victim, f"a surviving receiver failed: {target.url}"
                    (out.unanswered if valid else out.refused_unanswered).add(tid)
                    target = alive[i % len(alive)]
                    continue
                if r.status_code == 201:
                    assert valid, r.text
                    out.acked.add(tid)
                elif not valid:
                    assert r.status_code in (400, 422), r.text
                    out.refused.add(tid)
                else:
                    assert r.status_code == 503, r.text  # never acknowledged: CCEE retries

    await asyncio.gather(killer(), *(connection(i) for i in range(CONNECTIONS)))
    return out


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


def start_dagster(
    command: str, args: list[str], env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / command), *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def succeeded_lake_runs(pg: str) -> set[str]:
    """run_ids of the successful `lake_job` runs, read straight from PostgreSQL."""
    try:
        with psycopg2.connect(pg) as con, con.cursor() as cur:
            cur.execute(
                "SELECT run_id FROM runs WHERE pipeline_name = 'lake_job' AND status = 'SUCCESS'"
            )
            return {r[0] for r in cur.fetchall()}
    except psycopg2.errors.UndefinedTable:  # the daemon has not created its schema yet
        return set()


WEB_QUERY = """
{
  runsOrError(filter: {pipelineName: "lake_job", statuses: [SUCCESS]}) {
    __typename
    ... on Runs { results { runId } }
  }
  assetOrError(assetKey: {path: ["notificacoes"]}) {
    __typename
    ... on Asset { assetMaterializations(limit: 1000) { runId partition } }
  }
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes { sensors { name sensorState { status ticks(limit: 50) { status } } } }
    }
  }
}
"""


def check_webserver(
    url: str, webserver: subprocess.Popen[bytes], pg: str, days: list[date]
) -> None:
    """The webserver (its own process and home) shows, over HTTP, what the daemon did; then
    it stops on SIGTERM within a bound."""
    answers: list[dict[str, Any]] = []

    def answered() -> bool:
        if webserver.poll() is not None:
            raise AssertionError(f"dagster-webserver exited: {webserver.returncode}")
        try:
            r = httpx.post(f"{url}/graphql", json={"query": WEB_QUERY}, timeout=30)
        except httpx.HTTPError:
            return False  # not listening yet
        assert r.status_code == 200, r.text
        answers.append(r.json()["data"])
        return True

    wait_until(answered, 180, "dagster-webserver to answer GraphQL")
    data = answers[-1]
    assert data["runsOrError"]["__typename"] == "Runs"
    runs = {r["runId"] for r in data["runsOrError"]["results"]}
    assert runs == succeeded_lake_runs(pg) and len(runs) >= len(days)
    assert data["assetOrError"]["__typename"] == "Asset"
    mats = data["assetOrError"]["assetMaterializations"]
    assert {m["partition"] for m in mats} >= {d.isoformat() for d in days}
    assert {m["runId"] for m in mats} <= runs
    sensors = {
        s["name"]: s["sensorState"]
        for repo in data["repositoriesOrError"]["nodes"]
        for s in repo["sensors"]
    }
    assert sensors["lake_sensor"]["status"] == "RUNNING"
    assert "SUCCESS" in {t["status"] for t in sensors["lake_sensor"]["ticks"]}

    os.killpg(webserver.pid, signal.SIGTERM)
    try:
        webserver.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the webserver did not stop within 30 s of SIGTERM") from None


def test_three_receivers_one_killed_and_the_postgres_backed_daemon(
    s3_lake: str, seaweed: SeaweedFS, postgres: Postgres, tmp_path: Path
) -> None:
    receivers = [
        start_receiver(tmp_path / f"host{i}", s3_lake, seaweed.aws_env(), f"rx-{i}")
        for i in range(3)
    ]
    victim = receivers[1]
    try:
        sent = asyncio.run(load(receivers, victim))
        acked, unanswered = sent.acked, sent.unanswered
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

    # Every refused body answered 4xx sits in the bucket's quarentena/ exactly once; none
    # of them in notificacoes/, no valid delivery in quarentena/.
    assert len(sent.refused) >= DELIVERIES // INVALID_EVERY // 3, len(sent.refused)
    quarantined = Counter(
        r["transaction_id"]
        for r in lake_rows(data_dir, QUARENTENA, partition_days(data_dir, QUARENTENA))
    )
    assert all(quarantined[t] == 1 for t in sent.refused), "a refused body missing or twice"
    assert set(quarantined) - sent.refused <= sent.refused_unanswered
    assert max(quarantined.values()) == 1
    assert not (in_lake & (sent.refused | sent.refused_unanswered))

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
    daemon = start_dagster(
        "dagster-daemon", ["run", "-m", "pipelines.definitions"], env, tmp_path / "daemon.log"
    )
    # The webserver: another process with a DAGSTER_HOME of its own (the same dagster.yaml),
    # so whatever it shows of the daemon's work can only have come through PostgreSQL.
    web_home = tmp_path / "webserver_home"
    web_home.mkdir()
    shutil.copy(home / "dagster.yaml", web_home / "dagster.yaml")
    port = free_ports(1)[0]
    webserver = start_dagster(
        "dagster-webserver",
        ["-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)],
        {**env, "DAGSTER_HOME": str(web_home)},
        tmp_path / "webserver.log",
    )
    pg = pg_url.replace("+psycopg2", "")

    def lake_runs_succeeded() -> int:
        return len(succeeded_lake_runs(pg))

    try:
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
            raise AssertionError((tmp_path / "daemon.log").read_text()[-4000:]) from None
        finally:
            stop_session(daemon)
        check_webserver(f"http://127.0.0.1:{port}", webserver, pg, days)
    finally:
        stop_session(webserver)
    assert not (web_home / "history").exists() and not (web_home / "storage").exists()
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
