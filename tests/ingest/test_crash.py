"""kill -9 under concurrent load: every acknowledged delivery survives, the lake stays readable.

Bounded: at most 3000 requests from 64 concurrent connections over loopback; the server is
killed once 800 deliveries have been acknowledged, with requests still in flight. What was
acknowledged but not yet published is in the write-ahead log; the restarted receiver
publishes it before it serves.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Callable

import duckdb
import httpx
from support.callbacks import body_for
from support.credentials import TOKEN
from support.lake import lake_rows
from support.receiver import ReceiverProc

from ingest.wal import unpublished_bytes

TOTAL = 3000
CONCURRENCY = 64
KILL_AFTER = 800


def test_kill_9_under_load_loses_no_acknowledged_delivery(
    receiver_factory: Callable[..., ReceiverProc],
) -> None:
    rcv = receiver_factory()
    tids = [str(uuid.uuid4()) for _ in range(TOTAL)]
    acked: list[str] = []
    other: list[int] = []

    async def load() -> None:
        done = asyncio.Event()
        it = iter(tids)
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(base_url=rcv.url, limits=limits, timeout=10) as client:

            async def worker() -> None:
                for tid in it:
                    try:
                        r = await client.post(
                            f"/ccee/{TOKEN}",
                            content=body_for(tid),
                            headers={"content-type": "application/json"},
                        )
                    except httpx.TransportError:
                        return  # the server is gone: this request was never acknowledged
                    if r.status_code == 201:
                        acked.append(tid)
                        if len(acked) >= KILL_AFTER and not done.is_set():
                            done.set()
                            os.kill(rcv.proc.pid, signal.SIGKILL)
                    else:
                        other.append(r.status_code)

            await asyncio.wait_for(
                asyncio.gather(*(worker() for _ in range(CONCURRENCY))), timeout=120
            )
        assert done.is_set(), "load finished before the kill: raise TOTAL"

    asyncio.run(load())
    assert rcv.proc.wait(timeout=10) == -signal.SIGKILL
    assert other == []
    assert len(acked) >= KILL_AFTER

    # Right after the crash, every file a reader can see is whole.
    glob = rcv.data_dir / "lake" / "notificacoes" / "dt=*" / "*.parquet"
    with duckdb.connect() as con:
        before = {r[0] for r in con.execute(f"select transaction_id from '{glob}'").fetchall()}
    assert before <= set(tids)

    # The same lake serves a restarted receiver: the WAL is published before it is ready...
    again = receiver_factory(data_dir=rcv.data_dir)
    assert unpublished_bytes(rcv.data_dir / "lake") == 0
    rows = lake_rows(rcv.data_dir, table="notificacoes", sql="select transaction_id from t")
    stored = [r[0] for r in rows]
    missing = set(acked) - set(stored)
    assert not missing, f"{len(missing)} acknowledged deliveries lost"
    assert len(stored) == len(set(stored)), "a delivery was published twice"
    # ...and new deliveries join the old ones.
    tid = str(uuid.uuid4())
    assert again.post(path=f"/ccee/{TOKEN}", content=body_for(tid)).status_code == 201
    count = lake_rows(rcv.data_dir, table="notificacoes",
                      sql=f"select count(*) from t where transaction_id = '{tid}'"
    )
    assert count == [(1,)]
