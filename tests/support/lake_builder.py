"""Builds small real lakes for the pipeline tests, with the receiver's own schemas and layout."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.lake_schema import (
    NOTIFICACOES,
    NOTIFICACOES_SCHEMA,
    QUARENTENA,
    QUARENTENA_SCHEMA,
    partition_day,
    partition_dir,
)
from settings import lake_root


@dataclass
class Entrega:
    transaction_id: str
    evento: str
    metadados: list[tuple[str, str]]
    recebido_em: datetime
    perfil: str | None = "AGENTE1"
    instancia: str = "rx-1"
    extra: dict[str, str] = field(default_factory=dict)
    avisos: list[str] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        body = {
            "eventoNotificacao": self.evento,
            "metadados": [{"nome": n, "valor": v} for n, v in self.metadados],
            "transactionId": self.transaction_id,
        }
        return {
            "transaction_id": self.transaction_id,
            "evento_notificacao": self.evento,
            "metadados": [{"nome": n, "valor": v} for n, v in self.metadados],
            "recebido_em": self.recebido_em,
            "destino": "/webhook/***",
            "perfil": self.perfil,
            "corpo": json.dumps(body),
            "instancia": self.instancia,
            "avisos": self.avisos,
        }


def write_notificacoes(data_dir: Path, entregas: list[Entrega], name: str | None = None,
                       day: date | None = None, legacy: bool = False) -> list[Path]:
    """One Parquet file per São Paulo day, like one receiver flush (`day` forces the folder;
    `legacy` writes the schema of receivers older than the `avisos` column)."""
    by_day: dict[date, list[Entrega]] = {}
    for e in entregas:
        by_day.setdefault(day or partition_day(e.recebido_em), []).append(e)
    out = []
    for day, rows in by_day.items():
        folder = partition_dir(lake_root(data_dir), NOTIFICACOES, day)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (name or f"rx-1-{uuid.uuid4().hex}.parquet")
        table = pa.Table.from_pylist([r.row() for r in rows], schema=NOTIFICACOES_SCHEMA)
        pq.write_table(table.drop_columns(["avisos"]) if legacy else table, path)
        out.append(path)
    return out


def write_quarentena(data_dir: Path, rows: list[dict[str, object]],
                     legacy: bool = False) -> list[Path]:
    """One file per row; `legacy` writes the schema older than the transaction_id column."""
    out = []
    for r in rows:
        day = partition_day(r["recebido_em"])  # type: ignore[arg-type]
        folder = partition_dir(lake_root(data_dir), QUARENTENA, day)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"rx-1-{uuid.uuid4().hex}.parquet"
        table = pa.Table.from_pylist([r], schema=QUARENTENA_SCHEMA)
        if legacy:
            table = table.drop_columns(["transaction_id", "evento_notificacao"])
        pq.write_table(table, path)
        out.append(path)
    return out


def env_for(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CCEE_WEBHOOK_DATA_DIR"] = str(data_dir)
    return env
