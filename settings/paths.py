"""Where data lives: one data folder holding the lake, the warehouse and the reports.

Default `./data` (relative to where a command runs); `$CCEE_WEBHOOK_DATA_DIR` or `data_dir`
at the top of the TOML file override it, and a command's `--data-dir` overrides both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from settings.config_file import ENV_PREFIX, load_config_file

DATA_DIR_ENV = f"{ENV_PREFIX}DATA_DIR"
DEFAULT_DATA_DIR = Path("data")


def data_dir(
    flag: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """The data folder: flag > `$CCEE_WEBHOOK_DATA_DIR` > TOML `data_dir` > `./data`."""
    if flag:
        return Path(flag)
    env = os.environ if env is None else env
    if env.get(DATA_DIR_ENV):
        return Path(env[DATA_DIR_ENV])
    _, data = load_config_file(env)
    if data.get("data_dir"):
        return Path(str(data["data_dir"])).expanduser()
    return DEFAULT_DATA_DIR


def lake_root(folder: str | os.PathLike[str] | None = None) -> Path:
    """`<data folder>/lake`: raw Parquet written by the receiver, read by everything."""
    return Path(folder if folder is not None else data_dir()) / "lake"


def warehouse_path(folder: str | os.PathLike[str] | None = None) -> Path:
    """`<data folder>/warehouse.duckdb`: written only by Dagster."""
    return Path(folder if folder is not None else data_dir()) / "warehouse.duckdb"


def reports_dir(folder: str | os.PathLike[str] | None = None) -> Path:
    """`<data folder>/reports`: the exported HTML reports."""
    return Path(folder if folder is not None else data_dir()) / "reports"
