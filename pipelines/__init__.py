"""Dagster assets from the lake to a DuckDB warehouse, with CCEE's delivery results and SLA.

`pipelines.definitions.defs` is the code location (`dg dev`, `dg launch`); `pipelines/defs/`
holds one folder per group (lake, catalog, results, sla, reports) and `pipelines/core/` the
plain functions they call (DuckDB SQL with parameters), usable without Dagster. Resources:
`WarehouseResource` (the DuckDB file) and `CCEEResource` (a CCEE profile); partitions are
CCEE's calendar days (`daily`). `ccee-webhook report` renders the marimo reports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.partitions import daily, run_days
    from pipelines.resources import CCEEResource, WarehouseResource

#: Public name → the module defining it (imported on first use, so `import pipelines.<module>`
#: stays cheap and needs none of the other modules' dependencies).
_SURFACE = {
    "CCEEResource": "pipelines.resources",
    "WarehouseResource": "pipelines.resources",
    "daily": "pipelines.partitions",
    "run_days": "pipelines.partitions",
}

__all__ = [
    "CCEEResource",
    "WarehouseResource",
    "daily",
    "run_days",
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
