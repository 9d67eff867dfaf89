"""The lake's two tables (schemas, folder layout, file names): the contract every reader shares.

The receiver is the only writer; Dagster, notebooks and analysts read with DuckDB or pyarrow.
Day partitions use CCEE's calendar as we read it (America/Sao_Paulo; CCEE does not publish
which calendar `periodo/dia` follows), so a lake `dt=` folder, a Dagster partition key and
CCEE's `periodo/dia` name the same day.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from settings import ccee_day

NOTIFICACOES = "notificacoes"
QUARENTENA = "quarentena"

#: Raw bodies kept in quarantine are truncated to this many bytes.
QUARANTINE_BODY_LIMIT = 64 * 1024

UTC_MICROS = pa.timestamp("us", tz="UTC")

METADADO_TYPE = pa.struct([pa.field("nome", pa.string()), pa.field("valor", pa.string())])
METADADOS_TYPE = pa.list_(METADADO_TYPE)
AVISOS_TYPE = pa.list_(pa.string())

NOTIFICACOES_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("evento_notificacao", pa.string(), nullable=False),
        pa.field("metadados", METADADOS_TYPE, nullable=False),
        pa.field("recebido_em", UTC_MICROS, nullable=False),
        pa.field("destino", pa.string(), nullable=False),
        pa.field("perfil", pa.string(), nullable=True),
        pa.field("corpo", pa.string(), nullable=False),
        pa.field("instancia", pa.string(), nullable=False),
        # Added with issue 14: files written before lack it (read as an empty list).
        pa.field("avisos", AVISOS_TYPE, nullable=False),
    ]
)

QUARENTENA_SCHEMA = pa.schema(
    [
        pa.field("recebido_em", UTC_MICROS, nullable=False),
        pa.field("destino", pa.string(), nullable=False),
        pa.field("perfil", pa.string(), nullable=True),
        pa.field("motivo", pa.string(), nullable=False),
        pa.field("detalhe", pa.string(), nullable=False),
        pa.field("status_http", pa.int32(), nullable=False),
        pa.field("content_type", pa.string(), nullable=True),
        pa.field("tamanho", pa.int64(), nullable=False),
        pa.field("corpo", pa.binary(), nullable=False),
        pa.field("instancia", pa.string(), nullable=False),
        # Added with issue 14 (NULL in older files): read from the body when possible.
        pa.field("transaction_id", pa.string(), nullable=True),
        pa.field("evento_notificacao", pa.string(), nullable=True),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {NOTIFICACOES: NOTIFICACOES_SCHEMA, QUARENTENA: QUARENTENA_SCHEMA}


def conform(table: str, data: pa.Table) -> pa.Table:
    """A lake file's rows in today's schema: columns added since it was written are filled
    with their neutral value (`avisos` → empty list, others → NULL), columns kept in order.

    The schema only ever grows by appending columns, so any older file conforms this way."""
    schema = SCHEMAS[table]
    for field in schema:
        if field.name in data.schema.names:
            continue
        if pa.types.is_list(field.type) and not field.nullable:
            filler = pa.array([[]] * data.num_rows, field.type)
        else:
            filler = pa.nulls(data.num_rows, field.type)
        data = data.append_column(field.name, filler)
    return data.select(schema.names).cast(schema)


def partition_day(recebido_em: datetime) -> date:
    """The São Paulo calendar day of an aware timestamp (the lake's `dt=`)."""
    return ccee_day(recebido_em)


def partition_name(day: date) -> str:
    """`dt=YYYY-MM-DD`."""
    return f"dt={day.isoformat()}"


def partition_dir(root: str | os.PathLike[str], table: str, day: date) -> Path:
    """`<lake root>/<table>/dt=YYYY-MM-DD`."""
    return Path(root) / table / partition_name(day)


def is_data_file(name: str) -> bool:
    """True for a finished data file; temp/hidden files (`.x`, `_x`, `*.tmp`) are never read."""
    return name.endswith(".parquet") and not name.startswith((".", "_"))


def read_glob(root: str | os.PathLike[str], table: str) -> str:
    """The glob every reader uses, e.g. `duckdb.read_parquet(read_glob(root, NOTIFICACOES))`.

    Temp files are named `.<name>.parquet.tmp`, so this pattern never matches them.
    """
    return str(Path(root) / table / "dt=*" / "*.parquet")


def data_files(root: str | os.PathLike[str], table: str) -> list[Path]:
    """Every finished data file of a table, sorted (empty list when the table has none yet)."""
    base = Path(root) / table
    if not base.is_dir():
        return []
    return sorted(
        p
        for d in base.iterdir()
        if d.is_dir() and d.name.startswith("dt=")
        for p in d.iterdir()
        if is_data_file(p.name)
    )
