"""Raw lake → typed warehouse: this project's loader vs dlt, side by side, one run.

Generates N realistic notifications (CONTRATO.* and MONTANTE_ENERGIA.* with the simulator's
metadata, ~15 % delivered twice) into a lake over --days São Paulo days, then times:

* project: `pipelines.core` (the code the Dagster assets run) loading every day into
  `notificacoes`, `metadados` and the typed `eventos_<entidade>` tables;
* dlt: the same lake rows, flattened to one dict per notification (metadata as columns),
  loaded into DuckDB per entity table with merge on transaction_id, at dlt's fastest loader
  file format (both jsonl and parquet are tried on the first size; the best is used).

Also: the cost of loading one new day with 1 vs 30 days of history already in the warehouse.

    uv run --group bench python benchmarks/flatten.py            # N = 100k and 1M
    uv run --group bench python benchmarks/flatten.py --n 200000
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.lake_files import partition_files
from ingest.lake_schema import NOTIFICACOES, NOTIFICACOES_SCHEMA, partition_dir
from pipelines.core.entity_tables import load_entity_tables
from pipelines.core.lake_tables import load_notificacoes
from settings import lake_root

START = date(2026, 10, 1)
EVENTOS = ["CONTRATO.REGISTRADO", "CONTRATO.VALIDADO", "CONTRATO.CANCELADO",
           "MONTANTE_ENERGIA.REGISTRADO", "MONTANTE_ENERGIA.AJUSTADO"]
SUBMERCADOS = ["SE/CO", "S", "NE", "N"]
FILES_PER_DAY = 24  # one receiver flush file per hour


def _metadados(evento: str, origem: datetime, rng: random.Random) -> list[dict[str, str]]:
    meta = [{"nome": "ID_CONTRATO", "valor": str(rng.randint(1, 9_999_999))},
            {"nome": "DATA_ORIGEM_EVENTO",
             "valor": origem.strftime("%Y-%m-%dT%H:%M:%S.") + f"{origem.microsecond // 1000:03d}Z"},
            {"nome": "MES_REFERENCIA",
             "valor": "null" if rng.random() < 0.1 else f"2026-{rng.randint(1, 12):02d}"}]
    if evento.startswith("MONTANTE_ENERGIA"):
        meta.append({"nome": "SUBMERCADO", "valor": rng.choice(SUBMERCADOS)})
        meta.append({"nome": "MONTANTE_MWH", "valor": f"{rng.uniform(1, 5000):.3f}"})
    meta.append({"nome": "AMBIENTE_CONTRATACAO", "valor": rng.choice(["ACL", "ACR"])})
    return meta


def generate(data_dir: Path, n: int, days: int, seed: int = 1) -> int:
    """N notifications spread over `days` days; returns the number of deliveries written."""
    rng = random.Random(seed)
    per_day = n // days
    deliveries = 0
    for d in range(days):
        day = START + timedelta(days=d)
        folder = partition_dir(lake_root(data_dir), NOTIFICACOES, day)
        folder.mkdir(parents=True, exist_ok=True)
        # São Paulo midnight = 03:00 UTC
        base = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)
        rows: list[dict[str, Any]] = []
        for _ in range(per_day if d < days - 1 else n - per_day * (days - 1)):
            evento = rng.choice(EVENTOS)
            origem = base + timedelta(seconds=rng.uniform(0, 86_000))
            tid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            meta = _metadados(evento, origem, rng)
            corpo = json.dumps({"eventoNotificacao": evento, "metadados": meta,
                                "transactionId": tid})
            copies = 2 if rng.random() < 0.15 else 1
            for c in range(copies):
                recebido = origem + timedelta(seconds=rng.uniform(0.05, 2) + 300 * c)
                if recebido >= base + timedelta(days=1):
                    recebido = base + timedelta(days=1) - timedelta(microseconds=1)
                rows.append({"transaction_id": tid, "evento_notificacao": evento,
                             "metadados": meta, "recebido_em": recebido,
                             "destino": "/webhook/***", "perfil": "4321", "corpo": corpo,
                             "instancia": "rx-1"})
        rows.sort(key=lambda r: r["recebido_em"])
        chunk = -(-len(rows) // FILES_PER_DAY)
        for i in range(0, len(rows), chunk):
            table = pa.Table.from_pylist(rows[i:i + chunk], schema=NOTIFICACOES_SCHEMA)
            pq.write_table(table, folder / f"rx-1-{i:09d}-{uuid.uuid4().hex}.parquet")
        deliveries += len(rows)
    return deliveries


def project_load(data_dir: Path, wh: Path, d0: date, d1: date) -> float:
    t = time.perf_counter()
    con = duckdb.connect(str(wh))
    con.execute("SET TimeZone = 'UTC'")
    load_notificacoes(con, data_dir, d0, d1)
    load_entity_tables(con, d0, d1)
    con.close()
    return time.perf_counter() - t


def _dlt_rows(data_dir: Path, days: list[date]) -> Iterator[dict[str, Any]]:
    for day in days:
        for f in partition_files(data_dir, NOTIFICACOES, day):
            for batch in pq.ParquetFile(f).iter_batches(
                columns=["transaction_id", "evento_notificacao", "metadados", "recebido_em",
                         "perfil"], batch_size=50_000):
                for r in batch.to_pylist():
                    entidade, evento = r["evento_notificacao"].split(".", 1)
                    row = {"transaction_id": r["transaction_id"], "perfil": r["perfil"],
                           "evento_notificacao": r["evento_notificacao"], "evento": evento,
                           "recebido_em": r["recebido_em"], "dt": day, "_entidade": entidade}
                    for m in r["metadados"]:
                        row.setdefault(m["nome"].lower(),
                                       None if m["valor"] == "null" else m["valor"])
                    yield row


def dlt_load(data_dir: Path, wh: Path, days: list[date], fmt: str, work: Path) -> float:
    import dlt

    t = time.perf_counter()

    @dlt.resource(
        name="eventos", write_disposition="merge", primary_key="transaction_id",
        table_name=lambda r: "eventos_" + r["_entidade"].lower(),
    )
    def eventos() -> Iterator[dict[str, Any]]:
        yield from _dlt_rows(data_dir, days)

    pipeline = dlt.pipeline(pipeline_name=f"bench_{uuid.uuid4().hex[:8]}",
                            destination=dlt.destinations.duckdb(str(wh)),
                            dataset_name="main", pipelines_dir=str(work))
    pipeline.run(eventos(), loader_file_format=fmt)  # type: ignore[arg-type]
    return time.perf_counter() - t


def incremental(work: Path, per_day: int) -> tuple[float, float]:
    """Seconds to load one new day with 1 vs 30 days of history already loaded."""
    data_dir = work / "inc"
    generate(data_dir, per_day * 31, 31, seed=2)
    out = []
    for history in (1, 30):
        wh = work / f"inc-{history}.duckdb"
        first = START + timedelta(days=30 - history)
        project_load(data_dir, wh, first, START + timedelta(days=29))
        new_day = START + timedelta(days=30)
        out.append(project_load(data_dir, wh, new_day, new_day))
    return out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, action="append",
                    help="notifications to generate (repeatable; default 100000 and 1000000)")
    ap.add_argument("--days", type=int, default=30, help="days the notifications span")
    ap.add_argument("--dlt-format", choices=["jsonl", "parquet"],
                    help="skip the format trial and use this dlt loader file format")
    args = ap.parse_args()
    sizes = args.n or [100_000, 1_000_000]
    work = Path(tempfile.mkdtemp(prefix="flatten-bench-"))
    best_fmt = args.dlt_format
    try:
        for n in sizes:
            data_dir = work / f"lake-{n}"
            t = time.perf_counter()
            deliveries = generate(data_dir, n, args.days)
            print(f"N={n:,}: generated {deliveries:,} deliveries over {args.days} days "
                  f"in {time.perf_counter() - t:.1f}s", flush=True)
            d0, d1 = START, START + timedelta(days=args.days - 1)
            ours = project_load(data_dir, work / f"ours-{n}.duckdb", d0, d1)
            print(f"  project (pipelines.core): {ours:8.2f}s", flush=True)
            days = [d0 + timedelta(days=i) for i in range(args.days)]
            if best_fmt is None:
                trial = {}
                for fmt in ("jsonl", "parquet"):
                    trial[fmt] = dlt_load(data_dir, work / f"dlt-{fmt}-{n}.duckdb", days, fmt,
                                          work / "dlt")
                    print(f"  dlt ({fmt:7}):            {trial[fmt]:8.2f}s", flush=True)
                best_fmt = min(trial, key=lambda k: trial[k])
                theirs = trial[best_fmt]
            else:
                theirs = dlt_load(data_dir, work / f"dlt-{n}.duckdb", days, best_fmt,
                                  work / "dlt")
                print(f"  dlt ({best_fmt:7}):            {theirs:8.2f}s", flush=True)
            print(f"  ratio dlt[{best_fmt}] / project: {theirs / ours:.1f}x", flush=True)
            shutil.rmtree(data_dir, ignore_errors=True)
        per_day = max(sizes) // args.days
        one, thirty = incremental(work, per_day)
        print(f"incremental day ({per_day:,} notifications): 1 day of history {one:.2f}s, "
              f"30 days of history {thirty:.2f}s (ratio {thirty / one:.2f})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
