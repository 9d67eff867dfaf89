"""Fixtures: a warehouse with known rows, an empty one, and the notebooks on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from nb_warehouse_data import build_empty_warehouse, build_warehouse

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
if str(NOTEBOOKS) not in sys.path:
    sys.path.insert(0, str(NOTEBOOKS))


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")


@pytest.fixture(scope="session")
def empty_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_empty_warehouse(tmp_path_factory.mktemp("wh-empty") / "warehouse.duckdb")
