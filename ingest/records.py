"""One lake row per Python object, and their conversion to Arrow batches."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pyarrow as pa

from ingest.lake_schema import (
    METADADO_TYPE,
    NOTIFICACOES_SCHEMA,
    QUARENTENA_SCHEMA,
    UTC_MICROS,
    partition_day,
)


class Entrega(msgspec.Struct, frozen=True):
    """One accepted delivery (duplicates are separate deliveries)."""

    transaction_id: str
    evento_notificacao: str
    metadados: list[tuple[str, str]]
    recebido_em: datetime
    destino: str
    perfil: str | None
    corpo: str
    instancia: str


class Rejeicao(msgspec.Struct, frozen=True):
    """One request from an authenticated sender that failed validation."""

    recebido_em: datetime
    destino: str
    perfil: str | None
    motivo: str
    detalhe: str
    status_http: int
    content_type: str | None
    tamanho: int
    corpo: bytes
    instancia: str


def entregas_table(rows: list[Entrega]) -> pa.Table:
    metadados = [[{"nome": n, "valor": v} for n, v in r.metadados] for r in rows]
    return pa.Table.from_arrays(
        [
            pa.array([r.transaction_id for r in rows], pa.string()),
            pa.array([r.evento_notificacao for r in rows], pa.string()),
            pa.array(metadados, pa.list_(METADADO_TYPE)),
            pa.array([r.recebido_em for r in rows], UTC_MICROS),
            pa.array([r.destino for r in rows], pa.string()),
            pa.array([r.perfil for r in rows], pa.string()),
            pa.array([r.corpo for r in rows], pa.string()),
            pa.array([r.instancia for r in rows], pa.string()),
        ],
        schema=NOTIFICACOES_SCHEMA,
    )


def rejeicoes_table(rows: list[Rejeicao]) -> pa.Table:
    return pa.Table.from_arrays(
        [
            pa.array([r.recebido_em for r in rows], UTC_MICROS),
            pa.array([r.destino for r in rows], pa.string()),
            pa.array([r.perfil for r in rows], pa.string()),
            pa.array([r.motivo for r in rows], pa.string()),
            pa.array([r.detalhe for r in rows], pa.string()),
            pa.array([r.status_http for r in rows], pa.int32()),
            pa.array([r.content_type for r in rows], pa.string()),
            pa.array([r.tamanho for r in rows], pa.int64()),
            pa.array([r.corpo for r in rows], pa.binary()),
            pa.array([r.instancia for r in rows], pa.string()),
        ],
        schema=QUARENTENA_SCHEMA,
    )


def row_day(row: Entrega | Rejeicao) -> str:
    """Partition key (São Paulo calendar day) of a row, as ISO text."""
    return partition_day(row.recebido_em).isoformat()
