"""Two receivers writing the same lake while DuckDB readers and Dagster read it.

Readers poll the lake in a loop during the load: no read may fail (a torn or partial file
would), and the row count never goes down. Dagster materializes the lake assets mid-load
and again at the end: `notificacoes` ends with every acknowledged delivery exactly once.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from support.dagster_runs import LAKE_ASSETS, materialize, query
from support.lake import assert_every_file_readable, lake_files, lake_glob
from support.load import LoadLog, post_many
from support.receiver import launch_receiver

from settings import ccee_day

PER_RECEIVER = 2500


def test_two_receivers_one_lake_with_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data_dir = tmp_path / "data"
    a = launch_receiver(data_dir, "--instance-id", "rcv-a")
    b = launch_receiver(data_dir, "--instance-id", "rcv-b")
    a.wait_ready(), b.wait_ready()
    logs = [LoadLog(), LoadLog()]
    done = threading.Event()
    reads: list[int] = []
    read_errors: list[str] = []

    def load() -> None:
        async def both() -> None:
            await asyncio.gather(
                *(
                    post_many(r.url, iter([str(uuid.uuid4()) for _ in range(PER_RECEIVER)]), lg, 32)
                    for r, lg in zip((a, b), logs, strict=True)
                )
            )

        try:
            asyncio.run(both())
        finally:
            done.set()

    def reader() -> None:
        with duckdb.connect() as con:
            while not done.is_set():
                if not lake_files(data_dir):
                    continue
                try:
                    n = con.execute(f"SELECT count(*) FROM read_parquet('{lake_glob(data_dir)}')")
                    reads.append(int(n.fetchone()[0]))  # type: ignore[index]
                except duckdb.Error as exc:
                    read_errors.append(str(exc)[:300])

    threads = [threading.Thread(target=load), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    partition = ccee_day(datetime.now(UTC)).isoformat()
    mid = materialize(data_dir, LAKE_ASSETS, partition)  # Dagster while both write
    for t in threads:
        t.join(timeout=120)
    assert a.stop() in (0, -15) and b.stop() in (0, -15)
    assert mid.success

    assert read_errors == [], read_errors[:3]
    assert len(reads) > 3 and reads == sorted(reads), "a reader saw rows disappear"
    acked = set(logs[0].acked) | set(logs[1].acked)
    assert len(acked) == 2 * PER_RECEIVER, (logs[0].statuses, logs[1].statuses)
    files = assert_every_file_readable(data_dir)
    names = [p.name for p in lake_files(data_dir)]
    assert len(names) == len(set(names))
    assert {n.split("-")[0] + "-" + n.split("-")[1] for n in names} == {"rcv-a", "rcv-b"}

    assert materialize(data_dir, LAKE_ASSETS, partition).success
    rows = query(data_dir, "SELECT transaction_id FROM notificacoes")
    assert len(rows) == len(acked) and {r[0] for r in rows} == acked
    print(
        f"\nREL-NUMBERS concurrent: receivers=2 acked={len(acked)} files={files} "
        f"reads_during_load={len(reads)} read_errors=0"
    )
