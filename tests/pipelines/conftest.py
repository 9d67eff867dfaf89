"""Fixtures for the pipeline tests: a temporary data dir (lake + warehouse) and a runner."""

from __future__ import annotations

import os
from pathlib import Path

# The tests' lakes are written after the definitions are imported and use fixed days, so the
# partitions cannot start at the lake's first day (the default): start them well before.
os.environ.setdefault("CCEE_WEBHOOK_PARTITIONS_START", "2024-01-01")

import pytest
from support.dagster_runs import Runner, make_runner


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    for k in ("USERNAME", "PASSWORD", "PERFIL", "CERT", "CCEE_URL", "KEY", "DATA_DIR"):
        monkeypatch.delenv(f"CCEE_WEBHOOK_{k}", raising=False)
    monkeypatch.delenv("CCEE_WEBHOOK_CONFIG", raising=False)  # and cwd has no TOML
    monkeypatch.chdir(tmp_path)
    return d


@pytest.fixture
def run(data_dir: Path) -> Runner:
    return make_runner(data_dir)
