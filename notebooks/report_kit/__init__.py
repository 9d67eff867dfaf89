"""Shared helpers for the ccee-webhook marimo notebooks.

The notebooks stay thin: every figure is computed by a small pure function here (SQL over a
read-only DuckDB connection, results as polars frames) so tests can assert on the numbers,
and every chart is built by a function that also knows how to say "no data yet".
"""

from notebooks.report_kit.warehouse import (
    TZ,
    Balde,
    Periodo,
    Warehouse,
    balde,
    open_warehouse,
    resolve_warehouse_path,
)

__all__ = [
    "TZ",
    "Balde",
    "Periodo",
    "Warehouse",
    "balde",
    "open_warehouse",
    "resolve_warehouse_path",
]
