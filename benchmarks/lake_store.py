"""Receivers on the object store vs on the local disk: throughput and p99, 1 and 3 receivers.

Side by side in one run, against real `ccee-webhook serve` processes over loopback with wrk
(64 connections in all, every request a valid callback with a unique transactionId):

  local-1   one receiver, lake on the local disk (durable: write-ahead log, group commit)
  s3-1      one receiver, lake `s3://…` on SeaweedFS (`weed mini`, persisting to disk):
            group commit, one create-only PUT per flush, 201 after the store's answer
  local-3   three receivers on one local lake folder (64 connections split 22/21/21)
  s3-3      three receivers on one bucket prefix

Configurations are interleaved round by round so that load from anything else on the machine
hits all alike; medians over rounds are printed. With three receivers, wrk runs once per
receiver at the same time: throughput is the sum, p99 the worst of the three. After each run
every acknowledged delivery must be found in the lake (rows read back >= 2xx answers).

    uv run python benchmarks/lake_store.py [--duration 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests" / "scaleout"))
from receiver import TOKEN, WRK_LUA, flush_stats, wrk  # noqa: E402
from scaleout_servers import BUCKET, SeaweedFS  # noqa: E402

CONFIGS = ("local-1", "s3-1", "local-3", "s3-3")


def start(
    data_dir: Path, lake_url: str | None, aws: dict[str, str], name: str
) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCEE_WEBHOOK_", "AWS_"))}
    env.update(
        CCEE_WEBHOOK_TOKENS=f"BENCH:{TOKEN}",
        CCEE_WEBHOOK_DATA_DIR=str(data_dir),
        CCEE_WEBHOOK_INSTANCE_ID=name,
    )
    if lake_url:
        env.update(aws, CCEE_WEBHOOK_LAKE_URL=lake_url)
    log = open(data_dir.parent / f"{name}.log", "wb")  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "ccee-webhook"),
            "serve",
            "--port",
            "0",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().decode().strip()
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            log.close()
            tail = Path(log.name).read_text(errors="replace")[-2000:]
            raise RuntimeError(f"receiver {name} did not become ready:\n{tail}")
        time.sleep(0.05)


def lake_count(data_dir: Path, lake_url: str | None, aws: dict[str, str]) -> int:
    """Rows in the lake's `notificacoes`, read through the pipelines' lake reader."""
    saved = {k: os.environ.get(k) for k in ("CCEE_WEBHOOK_LAKE_URL", *aws)}
    try:
        if lake_url:
            os.environ.update(aws, CCEE_WEBHOOK_LAKE_URL=lake_url)
        else:
            os.environ.pop("CCEE_WEBHOOK_LAKE_URL", None)
        from ingest.lake_files import partition_days, partition_files, read_metadata

        return sum(
            read_metadata(f).num_rows
            for d in partition_days(data_dir, "notificacoes")
            for f in partition_files(data_dir, "notificacoes", d)
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_one(
    config: str, work: Path, seaweed: SeaweedFS, args: argparse.Namespace, script: Path
) -> dict[str, float]:
    kind, n = config.split("-")
    data_dir = work / f"{config}-{uuid.uuid4().hex[:6]}"
    data_dir.mkdir()
    lake_url = f"s3://{BUCKET}/bench-{data_dir.name}/lake" if kind == "s3" else None
    aws = seaweed.aws_env()
    procs = [start(data_dir, lake_url, aws, f"rx-{i}") for i in range(int(n))]
    split = [
        args.connections // len(procs) + (1 if i < args.connections % len(procs) else 0)
        for i in range(len(procs))
    ]
    try:
        with ThreadPoolExecutor(len(procs)) as pool:
            list(
                pool.map(
                    lambda pu: wrk(f"{pu[0][1]}/ccee/{TOKEN}", args.warmup, pu[1], script),
                    zip(procs, split, strict=True),
                )
            )
            results = list(
                pool.map(
                    lambda pu: wrk(f"{pu[0][1]}/ccee/{TOKEN}", args.duration, pu[1], script),
                    zip(procs, split, strict=True),
                )
            )
        stats = flush_stats(procs[0][1])
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=60)
    acked = sum(r["requests"] - r["errors"] for r in results)
    found = lake_count(data_dir, lake_url, aws)
    rps = sum(r["rps"] for r in results)
    p99 = max(r["p99_ms"] for r in results)
    errors = sum(r["errors"] for r in results)
    print(
        f"  {config:8s} {rps:8.0f} req/s  p99 {p99:7.1f} ms  errors {errors:.0f}  "
        f"lake rows {found} (>= answered incl. warm-up){stats}",
        flush=True,
    )
    if errors == 0 and found < acked:
        raise SystemExit(f"{config}: {acked} acknowledged but only {found} rows in the lake")
    return {"rps": rps, "p99_ms": p99}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per measured run")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    args = ap.parse_args()
    configs = args.configs.split(",")
    with tempfile.TemporaryDirectory(prefix="ccee-lake-bench-") as tmp:
        work = Path(tmp)
        script = work / "post.lua"
        script.write_text(WRK_LUA)
        seaweed = SeaweedFS.start(work / "seaweedfs")
        try:
            runs: dict[str, list[dict[str, float]]] = {c: [] for c in configs}
            for r in range(args.rounds):
                print(f"round {r + 1}/{args.rounds}", flush=True)
                for c in configs:
                    runs[c].append(run_one(c, work, seaweed, args, script))
        finally:
            seaweed.stop()
    print(f"\nmedians over {args.rounds} rounds ({args.connections} connections, wrk, loopback):")
    med = {
        c: {k: statistics.median(x[k] for x in v) for k in ("rps", "p99_ms")}
        for c, v in runs.items()
    }
    for c in configs:
        print(f"  {c:8s} {med[c]['rps']:8.0f} req/s  p99 {med[c]['p99_ms']:7.1f} ms")
    for n in ("1", "3"):
        if f"local-{n}" in med and f"s3-{n}" in med:
            lo, s3 = med[f"local-{n}"], med[f"s3-{n}"]
            print(
                f"  {n} receiver(s): object store / local disk = {s3['rps'] / lo['rps']:.2f}x "
                f"throughput, p99 {s3['p99_ms'] / lo['p99_ms']:.2f}x"
            )


if __name__ == "__main__":
    main()
