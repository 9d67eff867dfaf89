"""Crash consistency: kill -9 the receiver again and again under concurrent load.

Each cycle drives 64 concurrent keep-alive connections at a real `ccee-webhook serve`
process and SIGKILLs it, with requests in flight, once a (seeded, random) number of
deliveries has been acknowledged. The load then moves to the next receiver process on the
same lake (started while the previous one was under load, as a supervisor would restart it).

Then, reading the lake exactly as every reader does: every 201'd transactionId is there, every
file passes duckdb's read_parquet on its own, nothing unsent appears, and the only ids
missing are ones the client never saw acknowledged.

Bounded: REL_CRASH_KILLS kills (default 20), at most REL_CRASH_MAX_PER_CYCLE requests per
cycle (default 600); the whole test stops by itself in about a minute on 2 cores.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

from support.callbacks import body_for
from support.lake import assert_every_file_readable, lake_transaction_ids, settled
from support.load import LoadLog, post_many
from support.receiver import ReceiverProc, launch_receiver

KILLS = int(os.environ.get("REL_CRASH_KILLS", "20"))
MAX_PER_CYCLE = int(os.environ.get("REL_CRASH_MAX_PER_CYCLE", "600"))
CONCURRENCY = 64
WARM = 2  # receiver processes booting ahead of need


def _cycle(rcv: ReceiverProc, kill_after: int, log: LoadLog, sent: list[str]) -> int:
    """Load one receiver until `kill_after` acks, SIGKILL it mid-flight; returns acks seen."""
    acks = 0
    killed = False

    def ids() -> Iterator[str]:
        for _ in range(MAX_PER_CYCLE):
            tid = str(uuid.uuid4())
            sent.append(tid)
            yield tid

    def on_ack() -> None:
        nonlocal acks, killed
        acks += 1
        if acks >= kill_after and not killed:
            killed = True
            rcv.kill9()  # SIGKILL + reap: requests still in flight are cut

    asyncio.run(
        asyncio.wait_for(
            post_many(rcv.url, ids(), log, CONCURRENCY, stop=lambda: killed, on_ack=on_ack),
            timeout=60,
        )
    )
    if not killed:  # the cycle's budget ran out first: still kill it (a crash when idle)
        rcv.kill9()
    return acks


def test_kill_9_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    rng = random.Random(20261128)
    log = LoadLog()
    sent: list[str] = []
    kills_under_load = 0

    # Restarts are pipelined: the next processes boot (imports, Parquet warm-up) while the
    # current one is under load, so the test time is not 20 cold starts back to back.
    standby = [launch_receiver(data_dir, "--instance-id", f"crash-{i}") for i in range(WARM)]
    for cycle in range(KILLS):
        current = standby.pop(0).wait_ready()
        standby.append(launch_receiver(data_dir, "--instance-id", f"crash-{cycle + WARM}"))
        kill_after = rng.randint(100, MAX_PER_CYCLE - CONCURRENCY - 50)
        acks = _cycle(current, kill_after, log, sent)
        assert current.proc.returncode == -9, "the receiver must have died by SIGKILL"
        kills_under_load += acks >= kill_after

    # The receiver started after the last kill serves the same lake.
    final = standby.pop(0).wait_ready()
    for extra in standby:
        extra.stop()
    tid = str(uuid.uuid4())
    assert final.post(body_for(tid)).status_code == 201
    sent.append(tid)
    log.acked.append(tid)
    # Booted while the last one was alive, the final receiver adopts its log while running.
    settled(data_dir)
    assert final.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a graceful shutdown
    assert "lake flushed" in final.stderr()

    stored = lake_transaction_ids(data_dir)
    stored_set = set(stored)
    acked, unacked = set(log.acked), set(log.unacked)
    files = assert_every_file_readable(data_dir)

    assert kills_under_load == KILLS, "every kill must happen with requests in flight"
    assert set(log.statuses) == {201}, f"only 201 or a cut connection expected: {log.statuses}"
    lost = acked - stored_set
    assert not lost, f"{len(lost)} acknowledged deliveries are missing from the lake"
    assert stored_set <= set(sent), "the lake holds ids that were never sent"
    assert len(stored) == len(stored_set), "a delivery sent once was stored twice"
    missing = set(sent) - stored_set
    assert missing <= unacked, "only unacknowledged requests may be missing"
    # Leftover temp files of killed writes are hidden `.tmp`s that no reader glob matches.
    lake = data_dir / "lake"
    leftovers = [p for p in lake.rglob("*") if p.is_file() and p.suffix != ".parquet"]
    assert all(p.name.startswith(".") and p.name.endswith(".tmp") for p in leftovers)

    print(
        f"\nREL-NUMBERS crash: kills={KILLS} requests_sent={len(sent)} acked={len(acked)} "
        f"unacked={len(unacked)} stored={len(stored)} lost_acked=0 files={files} "
        f"tmp_leftovers={len(leftovers)} errors={log.errors}"
    )
