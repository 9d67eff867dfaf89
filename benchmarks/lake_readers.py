"""Readers of an `s3://` lake, side by side: which one the pipelines should use.

A real SeaweedFS (`weed mini`, loopback, persisting to disk) is started and filled with a
realistic lake written by the receiver's own object sink (`ingest.s3_lake.ObjectBatchFiles`):
--days past São Paulo days of --per-day notifications each, compacted by the pipelines' own
`compact_day` (one zstd object per day), and the open day's first --open-day notifications
as the group commit leaves them under a steady trickle of callbacks: many small create-only
objects of 1-9 rows.

What the pipelines do with the lake, each timed per candidate reader (the file lists come
from `ingest.lake_files.partition_files`, shared by all, and are not timed here):

  day-small     read the open day's many small objects into a DuckDB temp table with
                `filename` and `file_row_number` (the flattening's `stage_deliveries`)
  day-compacted the same for one compacted day (one large object)
  scan-all      the documented raw-lake query over every day:
                `SELECT evento_notificacao, count(*) ... GROUP BY ALL`
  listing       the lake sensor's look at the bucket: day folders and each day's
                (count, size, newest) signature (obstore's LIST; httpfs: a `glob()`,
                names only)

Candidate readers:

  obstore       the first implementation: each object fetched with the lake's obstore
                client, parsed by pyarrow, the Arrow tables handed to DuckDB
  obstore-par   the same, with 16 fetches in flight (a thread pool over obstore's GETs)
  polars        polars' own object store: `pl.scan_parquet([s3://…], storage_options=…)`
                collected, then DuckDB on the polars frame; chosen by this benchmark, it
                is now `pipelines.core.lake_sql.parquet_source`
  httpfs        DuckDB's httpfs reading `s3://` itself. Its extension is downloaded at run
                time from DuckDB's own site (unreachable here); PyPI's
                `duckdb-extension-httpfs` bundles it, but only for DuckDB <= 1.5.x, and an
                extension loads only into the exact DuckDB version it was built for. So it
                is tried in the project's DuckDB (and the refusal printed), then measured in
                a scratch venv with that older DuckDB (--httpfs-venv; `auto` builds it with
                uv under ~/.cache, `off` skips it).

Configurations are interleaved round by round; medians over rounds are printed, with rows/s,
objects/s and the ratio to the current path.

    uv run python benchmarks/lake_readers.py [--days 4] [--per-day 10000] [--open-day 2000]
        [--rounds 3] [--httpfs-venv auto|off|PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "scaleout"))
from scaleout_servers import BUCKET, SeaweedFS  # noqa: E402

from ingest.lake_files import (  # noqa: E402
    LakeFile,
    LakeObject,
    lake_store,
    partition_days,
    partition_files,
    partition_signature,
    read_table,
)
from ingest.lake_schema import NOTIFICACOES  # noqa: E402
from ingest.records import Entrega, entregas_table  # noqa: E402
from ingest.s3_lake import ObjectBatchFiles  # noqa: E402
from pipelines.core.compaction import compact_day  # noqa: E402
from pipelines.core.lake_sql import parquet_source  # noqa: E402
from settings import S3Lake, parse_lake_url  # noqa: E402

START = date(2026, 10, 1)
EVENTOS = [
    "CONTRATO.REGISTRADO",
    "CONTRATO.VALIDADO",
    "CONTRATO.CANCELADO",
    "MONTANTE_ENERGIA.REGISTRADO",
    "MONTANTE_ENERGIA.AJUSTADO",
]
#: Newest DuckDB for which PyPI's `duckdb-extension-httpfs` ships the extension.
HTTPFS_DUCKDB = "1.5.5"
WORKLOADS = ("day-small", "day-compacted", "scan-all", "listing")
READERS = ("obstore", "obstore-par", "polars", "httpfs")
STAGE_COLUMNS = (
    "transaction_id, evento_notificacao, metadados, recebido_em, perfil, "
    "filename, file_row_number, avisos"
)
RAW_QUERY = "SELECT evento_notificacao, count(*) FROM {src} GROUP BY ALL ORDER BY 1"


# -- the lake -----------------------------------------------------------------------------


def entregas(day: date, n: int, rng: random.Random) -> list[Entrega]:
    base = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)  # São Paulo midnight
    rows = []
    for _ in range(n):
        evento = rng.choice(EVENTOS)
        tid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        meta = [
            ("ID_CONTRATO", str(rng.randint(1, 9_999_999))),
            ("MES_REFERENCIA", f"2026-{rng.randint(1, 12):02d}"),
            ("AMBIENTE_CONTRATACAO", rng.choice(["ACL", "ACR"])),
        ]
        if evento.startswith("MONTANTE_ENERGIA"):
            meta.append(("MONTANTE_MWH", f"{rng.uniform(1, 5000):.3f}"))
        corpo = msgspec.json.encode(
            {
                "eventoNotificacao": evento,
                "metadados": [{"nome": k, "valor": v} for k, v in meta],
                "transactionId": tid,
            }
        ).decode()
        rows.append(
            Entrega(
                transaction_id=tid,
                evento_notificacao=evento,
                metadados=list(meta),
                recebido_em=base + timedelta(seconds=rng.uniform(0, 86_000)),
                destino="/ccee/{token}",
                perfil="PERFIL_A",
                corpo=corpo,
                instancia=f"rx-{rng.randint(0, 2)}",
            )
        )
    rows.sort(key=lambda r: r.recebido_em)
    return rows


def build_lake(data_dir: Path, lake: S3Lake, days: int, per_day: int, open_day: int) -> None:
    """`days` compacted days of `per_day` notifications, then an open day of `open_day`
    in objects of 1-9 rows (past days are flushed in bigger batches first, as under load:
    the compacted object is the same, and the lake is built in seconds)."""
    rng = random.Random(7)
    sink = ObjectBatchFiles(lake_store(lake), NOTIFICACOES, entregas_table, "rx-bench")
    for d in range(days + 1):
        day = START + timedelta(days=d)
        is_open = d == days
        rows = entregas(day, open_day if is_open else per_day, rng)
        batches, i = [], 0
        while i < len(rows):
            size = rng.randint(1, 9) if is_open else rng.randint(50, 200)
            batches.append(rows[i : i + size])
            i += size
        t0 = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(sink.write, batches))
        put = time.perf_counter() - t0
        line = f"  {day}: {len(rows)} rows in {len(batches)} objects ({put:.1f} s to PUT)"
        if not is_open:
            t0 = time.perf_counter()
            done = compact_day(data_dir, NOTIFICACOES, day)
            line += f", compacted into 1 ({time.perf_counter() - t0:.1f} s)"
            assert done.destino
        print(line, flush=True)


# -- readers ------------------------------------------------------------------------------


def source_obstore(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[LakeFile],
    with_position: bool,
    in_flight: int = 1,
) -> str:
    """The first implementation of `parquet_source` for objects (`in_flight` 1), or with
    several GETs in flight."""
    if in_flight == 1:
        tables = [read_table(f) for f in files]
    else:
        with ThreadPoolExecutor(in_flight) as pool:
            tables = list(pool.map(read_table, files))
    if with_position:
        tables = [
            t.append_column("filename", pa.array([str(f)] * t.num_rows, pa.string())).append_column(
                "file_row_number", pa.array(range(t.num_rows), pa.int64())
            )
            for f, t in zip(files, tables, strict=True)
        ]
    name = f"_t_{uuid.uuid4().hex}"
    con.register(name, pa.concat_tables(tables, promote_options="default"))
    return name


SOURCES: dict[str, Callable[[duckdb.DuckDBPyConnection, Sequence[LakeFile], bool], str]] = {
    "obstore": source_obstore,
    "obstore-par": lambda con, files, pos: source_obstore(con, files, pos, in_flight=16),
    "polars": lambda con, files, pos: parquet_source(con, files, with_position=pos),
}


def run_in_process(reader: str, workload: str, plan: dict[str, Any], data_dir: Path) -> int:
    """One timed unit of work; returns the rows it read (objects for `listing`)."""
    if workload == "listing":
        if reader != "obstore":  # the sensor's listing is obstore's whatever reads the rows
            raise NotImplementedError  # (polars has no listing with sizes and times)
        days = partition_days(data_dir, NOTIFICACOES)
        for d in days:
            partition_signature(data_dir, NOTIFICACOES, d)
        return int(plan["objects"]["listing"])
    files = plan["files"][workload]
    source = SOURCES[reader]
    with duckdb.connect() as con:
        if workload == "scan-all":
            rows = con.execute(RAW_QUERY.format(src=source(con, files, False))).fetchall()
            return sum(int(r[1]) for r in rows)
        src = source(con, files, True)
        con.execute(f"CREATE TEMP TABLE stage AS SELECT {STAGE_COLUMNS} FROM {src}")
        return int(con.execute("SELECT count(*) FROM stage").fetchone()[0])  # type: ignore[index]


# -- httpfs -------------------------------------------------------------------------------

HTTPFS_RUNNER = textwrap.dedent(
    """
    import json, sys, time
    import duckdb
    import duckdb_extension_httpfs
    from pathlib import Path
    job = json.load(sys.stdin)
    ext = next(Path(duckdb_extension_httpfs.__file__).parent.rglob("httpfs.duckdb_extension"))
    def connect():
        con = duckdb.connect()
        con.execute(f"LOAD '{ext}'")
        con.execute(
            "CREATE SECRET lake (TYPE s3, KEY_ID $k, SECRET $s, ENDPOINT $e, REGION 'us-east-1',"
            " URL_STYLE 'path', USE_SSL false)".replace("$k", repr(job["key"]))
            .replace("$s", repr(job["secret"])).replace("$e", repr(job["endpoint"]))
        )
        return con
    out = {"version": duckdb.__version__}
    for wl in job["workloads"]:
        t0 = time.perf_counter()
        con = connect()
        if wl == "listing":
            n = con.execute("SELECT count(*) FROM glob(?)", [job["glob"]]).fetchone()[0]
        else:
            files = job["files"][wl]
            if wl == "scan-all":
                rows = con.execute(
                    job["raw_query"].format(
                        src="read_parquet(?, union_by_name = true)"), [files]).fetchall()
                n = sum(r[1] for r in rows)
            else:
                con.execute(
                    "CREATE TEMP TABLE stage AS SELECT " + job["stage"] + " FROM read_parquet("
                    "?, union_by_name = true, filename = true, file_row_number = true)", [files])
                n = con.execute("SELECT count(*) FROM stage").fetchone()[0]
        con.close()
        out[wl] = [time.perf_counter() - t0, n]
    print(json.dumps(out))
    """
)


def project_duckdb_httpfs() -> str:
    """Why the project's own DuckDB cannot read `s3://` (or '' if it can)."""
    con = duckdb.connect()
    try:
        con.execute("LOAD httpfs")
        return ""
    except duckdb.Error:
        pass
    try:
        con.execute("INSTALL httpfs")
        con.execute("LOAD httpfs")
        return ""
    except duckdb.Error as exc:
        return str(exc).splitlines()[0][:200]
    finally:
        con.close()


def httpfs_python(choice: str) -> tuple[str | None, str]:
    """(python of a venv with DuckDB + the httpfs extension, or None; how it was had)."""
    if choice == "off":
        return None, "skipped (--httpfs-venv off)"
    if choice != "auto":
        py = Path(choice) / "bin" / "python"
        return (str(py), f"venv {choice}") if py.exists() else (None, f"no python in {choice}")
    uv = shutil.which("uv")
    if not uv:
        return None, "uv not found to build the scratch venv"
    venv = Path.home() / ".cache" / "ccee-webhook" / f"duckdb-httpfs-{HTTPFS_DUCKDB}"
    py = venv / "bin" / "python"
    if not py.exists():
        try:
            subprocess.run([uv, "venv", "-q", str(venv)], check=True, capture_output=True)
            subprocess.run(
                [
                    uv,
                    "pip",
                    "install",
                    "-q",
                    "--python",
                    str(py),
                    f"duckdb=={HTTPFS_DUCKDB}",
                    f"duckdb-extension-httpfs=={HTTPFS_DUCKDB}",
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            shutil.rmtree(venv, ignore_errors=True)
            return None, f"could not build the scratch venv: {exc}"
    return str(py), f"scratch venv {venv}"


def run_httpfs(py: str, plan: dict[str, Any], seaweed: SeaweedFS, lake: S3Lake) -> dict[str, Any]:
    job = {
        "key": seaweed.aws_config()["access_key_id"],
        "secret": seaweed.aws_config()["secret_access_key"],
        "endpoint": seaweed.endpoint.removeprefix("http://"),
        "files": {k: [str(f) for f in v] for k, v in plan["files"].items()},
        "glob": f"{lake.url}/{NOTIFICACOES}/*/*.parquet",
        "workloads": list(WORKLOADS),
        "raw_query": RAW_QUERY,
        "stage": STAGE_COLUMNS,
    }
    done = subprocess.run(
        [py, "-c", HTTPFS_RUNNER],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    try:  # the result is the last line (DuckDB may print progress before it)
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError) as exc:
        raise RuntimeError(f"unreadable httpfs result: {done.stdout[-500:]!r}") from exc


# -- main ---------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--days", type=int, default=4, help="past (compacted) days")
    ap.add_argument("--per-day", type=int, default=10_000, help="notifications per past day")
    ap.add_argument(
        "--open-day", type=int, default=2000, help="notifications of the open day so far"
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--httpfs-venv", default="auto", help="auto (build under ~/.cache), off, or a venv path"
    )
    args = ap.parse_args()

    why_not = project_duckdb_httpfs()
    print(
        f"DuckDB {duckdb.__version__} (the project's) httpfs: "
        + (f"unavailable: {why_not}" if why_not else "loaded"),
        flush=True,
    )
    py, how = httpfs_python(args.httpfs_venv)
    print(f"httpfs candidate: {how}", flush=True)

    with tempfile.TemporaryDirectory(prefix="ccee-lake-readers-") as tmp:
        work = Path(tmp)
        seaweed = SeaweedFS.start(work / "seaweedfs")
        try:
            os.environ.update(seaweed.aws_env())
            url = f"s3://{BUCKET}/readers-{uuid.uuid4().hex[:8]}/lake"
            os.environ["CCEE_WEBHOOK_LAKE_URL"] = url
            lake = parse_lake_url(url)
            assert isinstance(lake, S3Lake)
            data_dir = work / "data"
            data_dir.mkdir()
            print(f"lake {url} on SeaweedFS {seaweed.endpoint}:", flush=True)
            build_lake(data_dir, lake, args.days, args.per_day, args.open_day)
            runs = measure(args, data_dir, py, seaweed, lake)
        finally:
            seaweed.stop()
    report(runs, args.rounds)


def measure(
    args: argparse.Namespace, data_dir: Path, py: str | None, seaweed: SeaweedFS, lake: S3Lake
) -> dict[tuple[str, str], list[tuple[float, int]]]:
    days = partition_days(data_dir, NOTIFICACOES)
    per_day = {d: partition_files(data_dir, NOTIFICACOES, d) for d in days}
    files = {
        "day-small": per_day[days[-1]],
        "day-compacted": per_day[days[0]],
        "scan-all": [f for d in days for f in per_day[d]],
    }
    assert all(isinstance(f, LakeObject) for f in files["scan-all"])
    plan: dict[str, Any] = {
        "files": files,
        "objects": {
            **{k: len(v) for k, v in files.items()},
            "listing": len(files["scan-all"]),
        },
    }
    runs: dict[tuple[str, str], list[tuple[float, int]]] = {}
    expected: dict[str, int] = {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", flush=True)
        for reader in READERS:
            if reader == "httpfs":
                if py is None:
                    continue
                try:
                    got = run_httpfs(py, plan, seaweed, lake)
                except (RuntimeError, subprocess.SubprocessError) as exc:
                    print(f"  httpfs failed: {exc}", flush=True)
                    py = None
                    continue
                for wl in WORKLOADS:
                    runs.setdefault((reader, wl), []).append((got[wl][0], int(got[wl][1])))
                spent = sum(got[wl][0] for wl in WORKLOADS)
                print(f"  {reader:12s} {spent:6.2f} s (DuckDB {got['version']})", flush=True)
                continue
            spent = 0.0
            for wl in WORKLOADS:
                t0 = time.perf_counter()
                try:
                    n = run_in_process(reader, wl, plan, data_dir)
                except NotImplementedError:
                    continue
                took = time.perf_counter() - t0
                spent += took
                runs.setdefault((reader, wl), []).append((took, n))
                if wl != "listing":  # every reader must read the same rows
                    assert expected.setdefault(wl, n) == n, (reader, wl, n, expected[wl])
            print(f"  {reader:12s} {spent:6.2f} s", flush=True)
    for wl in WORKLOADS:
        print(f"  {wl}: {plan['objects'][wl]} objects, {expected.get(wl, '?')} rows")
    runs[("_objects", "")] = [(0.0, 0)]
    for wl in WORKLOADS:
        runs[("_objects", wl)] = [(0.0, int(plan["objects"][wl]))]
    return runs


def report(runs: dict[tuple[str, str], list[tuple[float, int]]], rounds: int) -> None:
    print(
        f"\nmedians over {rounds} rounds (seconds; rows/s; objects/s; speed-up over obstore,"
        " the first implementation):"
    )
    for wl in WORKLOADS:
        objects = runs[("_objects", wl)][0][1]
        base = runs.get(("obstore", wl))
        base_s = statistics.median(t for t, _ in base) if base else None
        print(f"  {wl} ({objects} objects)")
        for reader in READERS:
            got = runs.get((reader, wl))
            if not got:
                why = {
                    "polars": "no listing API with sizes and times",
                    "obstore-par": "same listing as obstore",
                }.get(reader, "not run")
                print(f"    {reader:12s}  n/a ({why})")
                continue
            secs = statistics.median(t for t, _ in got)
            rows = got[0][1]
            rate = "" if wl == "listing" else f"{rows / secs:10.0f} rows/s"
            ratio = f"{base_s / secs:6.2f}x" if base_s else ""
            print(
                f"    {reader:12s} {secs:7.3f} s {rate:>17s} {objects / secs:9.0f} objects/s"
                f"  {ratio}"
            )


if __name__ == "__main__":
    main()
