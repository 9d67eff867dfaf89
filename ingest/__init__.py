"""The receiver: CCEE's callbacks answered 201 only once durably stored, kept in a Parquet lake.

`create_app(settings)` builds the Litestar app (`ccee-webhook serve` runs it); each accepted
delivery goes through a write-ahead log (`ingest.wal`) to day-partitioned Parquet files whose
layout and schemas (`NOTIFICACOES_SCHEMA`, `QUARENTENA_SCHEMA`, `partition_dir`, ...) are
defined once in `ingest.lake_schema` for every reader. What cannot be a notification is kept in
`quarentena` with the reason. Never imports `pipelines`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.app import create_app
    from ingest.lake_schema import (
        NOTIFICACOES,
        NOTIFICACOES_SCHEMA,
        QUARENTENA,
        QUARENTENA_SCHEMA,
        data_files,
        partition_day,
        partition_dir,
        read_glob,
    )
    from ingest.wal import unpublished_bytes

#: Public name → the module defining it (imported on first use, so `import ingest.<module>`
#: stays cheap and needs none of the other modules' dependencies).
_SURFACE = {
    "create_app": "ingest.app",
    "NOTIFICACOES": "ingest.lake_schema",
    "NOTIFICACOES_SCHEMA": "ingest.lake_schema",
    "QUARENTENA": "ingest.lake_schema",
    "QUARENTENA_SCHEMA": "ingest.lake_schema",
    "data_files": "ingest.lake_schema",
    "partition_day": "ingest.lake_schema",
    "partition_dir": "ingest.lake_schema",
    "read_glob": "ingest.lake_schema",
    "unpublished_bytes": "ingest.wal",
}

__all__ = [
    "NOTIFICACOES",
    "NOTIFICACOES_SCHEMA",
    "QUARENTENA",
    "QUARENTENA_SCHEMA",
    "create_app",
    "data_files",
    "partition_day",
    "partition_dir",
    "read_glob",
    "unpublished_bytes",
]


def __getattr__(name: str) -> Any:
    module = _SURFACE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
