"""Fixtures: a warehouse with known rows and an empty one."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.warehouse_data import build_empty_warehouse, build_warehouse


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")


@pytest.fixture(scope="session")
def empty_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_empty_warehouse(tmp_path_factory.mktemp("wh-empty") / "warehouse.duckdb")
