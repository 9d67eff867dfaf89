"""Receiver throughput and latency, side by side with the framework's own ceiling.

In one run, against real servers over loopback with wrk (64 connections, every request a
valid callback with a unique transactionId), all on uvicorn with the options `serve` uses:

  (p) plain Litestar app               benchmarks/plain_app.py: decodes the body into a
                                       msgspec Struct and answers 201, nothing else
  (a) off                the receiver's request path (auth, validation, log line, metrics),
                         NOT durable (benchmarks/serve_variant.py, baseline_writers.py)
  (b) group-commit       `ccee-webhook serve`, durable: concurrent requests share one fsync'd
                         append to the write-ahead log, published to Parquet off-path
  (c) fsync-per-request  durable, naive: one Parquet file + fsync per request
                         (benchmarks/serve_variant.py, baseline_writers.py)

Modes are interleaved round by round (p, a, b, c, p, a, ...) so that load from anything else
on the machine hits all of them alike; the medians over rounds are compared, and the per-round
ratios show the spread. The server's own CPU time per request (user + system, from /proc) is
printed too: unlike req/s it hardly depends on what else the machine runs. After each durable
run (the server stopped, so its write-ahead log is published) the lake is read back with
DuckDB to check that every acknowledged delivery is there.

    uv run python benchmarks/receiver.py [--duration 6] [--rounds 3] [--modes pabc]
    uv run --group bench python benchmarks/receiver.py --server granian --modes b   # granian
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-0123456789abcdef"
MODES = {"p": "plain-litestar", "a": "off", "b": "group-commit", "c": "fsync-per-request"}
PLAIN_APP = Path(__file__).with_name("plain_app.py")
VARIANT = Path(__file__).with_name("serve_variant.py")

WRK_LUA = r"""
local counter = 0
local tid = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
  math.randomseed(os.time() + tid * 7919)
  run = math.random(0, 0xffff)
end

request = function()
  counter = counter + 1
  local id = string.format("%08x-%04x-4%03x-8%03x-%012x", counter, run, tid, tid, counter)
  local body = '{"eventoNotificacao":"CONTRATO.REGISTRADO","metadados":['
    .. '{"nome":"ID_CONTRATO","valor":"' .. counter .. '"},'
    .. '{"nome":"DATA_ORIGEM_EVENTO","valor":"2026-11-27T13:05:00.000Z"},'
    .. '{"nome":"MES_REFERENCIA","valor":"null"},'
    .. '{"nome":"AMBIENTE_CONTRATACAO","valor":"ACL"}],'
    .. '"transactionId":"' .. id .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\"requests\":%d,\"duration_us\":%d,\"status_errors\":%d,\"connect_errors\":%d,"
    .. "\"read_errors\":%d,\"write_errors\":%d,\"timeouts\":%d,\"p50_us\":%d,\"p99_us\":%d,"
    .. "\"max_us\":%d}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One receiver process in a given persistence mode, on a fresh data folder."""

    def __init__(self, mode: str, data_dir: Path, server: str, workers: int) -> None:
        self.data_dir = data_dir
        env = {
            **os.environ,
            "CCEE_WEBHOOK_TOKENS": f"BENCH:{TOKEN}",
            "CCEE_WEBHOOK_DATA_DIR": str(data_dir),
        }
        self.log = open(data_dir.parent / f"{data_dir.name}.log", "wb")  # noqa: SIM115
        if mode == "plain-litestar":
            cmd = [sys.executable, str(PLAIN_APP), "--port", "0"]
        elif mode != "group-commit":
            if server != "uvicorn" or workers != 1:
                raise SystemExit("the baselines (modes a, c) run on uvicorn with one worker")
            cmd = [sys.executable, str(VARIANT), "--mode", mode, "--port", "0"]
        elif server == "uvicorn":
            cmd = [
                str(Path(sys.executable).parent / "ccee-webhook"),
                "serve",
                "--port",
                "0",
                "--workers",
                str(workers),
            ]
        else:  # granian, for the server choice measurement (the durable receiver only)
            port = free_port()
            env["CCEE_WEBHOOK_SERVE_SETTINGS"] = json.dumps(
                {
                    "data_dir": str(data_dir),
                    "tokens": [{"token": TOKEN, "perfil": "BENCH"}],
                }
            )
            cmd = [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--factory",
                "--no-ws",
                "--loop",
                "uvloop",
                "--workers",
                str(workers),
                "--port",
                str(port),
                "--log-level",
                "warning",
                "ingest.asgi:app_from_env",
            ]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=self.log
        )
        if server == "uvicorn" or mode != "group-commit":
            assert self.proc.stdout is not None
            self.url = self.proc.stdout.readline().decode().strip()
        else:
            self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # a loaded machine imports slowly
        while True:
            try:
                status = httpx.get(self.url + "/readyz", timeout=1).status_code
                if status == 200 or mode == "plain-litestar":  # the plain app has no /readyz
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()  # never leave a half-started server behind
                raise RuntimeError(f"receiver ({mode}) did not become ready; see {self.log.name}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its direct children (the workers), so that
    each server's cost per request can be compared even when the machine's load varies."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid, *(int(x) for x in children.read_text().split())] if children.exists() else [pid]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def wrk(url: str, duration: float, connections: int, script: Path) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    r = json.loads(line[len("WRKJSON ") :])
    errors = sum(
        r[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return {
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "requests": r["requests"],
        "errors": errors,
    }


def flush_stats(url: str) -> str:
    """Rows per durable flush and mean flush time, from the server's own /metrics."""
    values: dict[str, float] = {}
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if 'tabela="notificacoes"' in line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name.split("{")[0]] = float(value)
    n = values.get("ccee_webhook_lake_flush_seconds_count", 0)
    if not n:
        return ""
    rows = values.get("ccee_webhook_lake_rows_flushed_total", 0) / n
    ms = values.get("ccee_webhook_lake_flush_seconds_sum", 0) / n * 1000
    return f"  {rows:.0f} rows/flush, {ms:.1f} ms/flush"


def lake_rows(data_dir: Path) -> int:
    files = list((data_dir / "lake" / "notificacoes").glob("dt=*/*.parquet"))
    if not files:
        return 0
    glob = str(data_dir / "lake" / "notificacoes" / "*" / "*.parquet")
    with duckdb.connect() as con:
        row = con.execute(f"select count(*) from read_parquet('{glob}')").fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", type=float, default=6.0, help="seconds per measured run")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the modes")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--modes", default="pabc", help="subset of p, a, b, c to run, in order")
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=REPO / "data" / "bench",
        help="where the lakes go (must be a real disk, not tmpfs, for fsync to mean anything)",
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found (Debian: apt-get install wrk)")

    args.data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="receiver-", dir=args.data_dir))
    script = work / "post.lua"
    script.write_text(WRK_LUA)
    print(
        f"receiver benchmark: {args.server} x{args.workers}, {args.connections} connections, "
        f"{args.rounds} rounds x {args.duration:.0f}s per mode, lake under {work}, "
        f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.2f}",
        flush=True,
    )

    results: dict[str, list[dict[str, float]]] = {k: [] for k in args.modes}
    for rnd in range(1, args.rounds + 1):
        for key in args.modes:
            mode = MODES[key]
            data_dir = work / f"r{rnd}-{key}-{mode}"
            data_dir.mkdir()
            server = Server(mode, data_dir, args.server, args.workers)
            try:
                url = f"{server.url}/ccee/{TOKEN}"
                wrk(url, args.warmup, args.connections, script)
                cpu_before = cpu_seconds(server.proc.pid)
                r = wrk(url, args.duration, args.connections, script)
                r["cpu_us"] = (cpu_seconds(server.proc.pid) - cpu_before) / r["requests"] * 1e6
                flushes = flush_stats(server.url) if key in "bc" else ""
            finally:
                server.stop()
            check = ""
            if key in "bc":
                rows = lake_rows(data_dir)
                acked = r["requests"]  # measured run only; warm-up rows are extra
                check = f"lake rows {rows} >= acknowledged {acked:.0f}: {rows >= acked}"
                if rows < acked:
                    print("ERROR: acknowledged deliveries missing from the lake", flush=True)
            results[key].append(r)
            print(
                f"round {rnd} ({key}) {mode:18s} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms"
                f"  p99 {r['p99_ms']:6.2f} ms  cpu {r['cpu_us']:5.0f} us/req"
                f"  errors {r['errors']:.0f}  {check}{flushes}",
                flush=True,
            )

    def med(key: str, field: str) -> float:
        return statistics.median(x[field] for x in results[key])

    print("\nmedian over rounds (min-max):")
    for key in args.modes:
        rps = [x["rps"] for x in results[key]]
        p99 = [x["p99_ms"] for x in results[key]]
        print(
            f"  ({key}) {MODES[key]:18s} {med(key, 'rps'):8.0f} req/s"
            f" ({min(rps):.0f}-{max(rps):.0f})"
            f"  p50 {med(key, 'p50_ms'):6.2f} ms  p99 {med(key, 'p99_ms'):6.2f} ms"
            f" ({min(p99):.2f}-{max(p99):.2f})  server cpu {med(key, 'cpu_us'):5.0f} us/req"
        )

    def ratios(num: str, den: str, what: str, target: str = "") -> None:
        if num not in results or den not in results:
            return
        rps = med(num, "rps") / med(den, "rps")
        p99 = med(num, "p99_ms") / med(den, "p99_ms")
        pairs = list(zip(results[num], results[den], strict=True))
        per_rps = " ".join(f"{n['rps'] / d['rps']:.2f}" for n, d in pairs)
        per_p99 = " ".join(f"{n['p99_ms'] / d['p99_ms']:.2f}" for n, d in pairs)
        print(f"  {what:24s} throughput {rps:5.2f} (rounds {per_rps})  {target}")
        print(f"  {'':24s} p99        {p99:5.2f} (rounds {per_p99})")

    print("ratios of medians (per round):")
    ratios("b", "p", "durable / plain", "target >= 0.85, p99 <= 2.0")
    ratios("a", "p", "off / plain")
    ratios("b", "a", "durable / off")
    ratios("b", "c", "durable / fsync-per-req", "target >= 3.0")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
