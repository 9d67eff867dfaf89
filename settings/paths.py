"""Where data lives: one data folder holding the lake, the warehouse and the reports.

Default `./data` (relative to where a command runs); `$CCEE_WEBHOOK_DATA_DIR` or `data_dir`
at the top of the TOML file override it, and a command's `--data-dir` overrides both.

The lake may live elsewhere: `$CCEE_WEBHOOK_LAKE_URL` or `lake_url` at the top of the TOML
file name a local folder or an S3-compatible prefix `s3://bucket/prefix` (endpoint and
credentials from the standard AWS environment); default `<data folder>/lake`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from settings.config_file import DEFAULT_CONFIG_FILE, ENV_PREFIX, SettingsError, load_config_file

DATA_DIR_ENV = f"{ENV_PREFIX}DATA_DIR"
LAKE_URL_ENV = f"{ENV_PREFIX}LAKE_URL"
CACHE_DIR_ENV = f"{ENV_PREFIX}CACHE_DIR"
DEFAULT_DATA_DIR = Path("data")
#: how `data_dir()` resolves, as command help shows it
DATA_DIR_ORDER = (
    f"${DATA_DIR_ENV}, else data_dir in {DEFAULT_CONFIG_FILE}, else ./{DEFAULT_DATA_DIR}"
)


@dataclass(frozen=True, slots=True)
class S3Lake:
    """A lake on S3-compatible object storage: `s3://bucket/prefix` (prefix may be empty)."""

    bucket: str
    prefix: str = ""

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, *parts: str) -> str:
        """The object key of `parts` under the prefix (`prefix/a/b`)."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))


#: Where the lake lives: a local folder or an S3-compatible prefix.
LakeLocation = Path | S3Lake


def parse_lake_url(url: str) -> LakeLocation:
    """`s3://bucket[/prefix]` → `S3Lake`; anything else is a local folder."""
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not bucket:
            raise SettingsError(f"lake URL {url!r} names no bucket (expected s3://bucket/prefix)")
        return S3Lake(bucket, prefix.strip("/"))
    if "://" in url:
        raise SettingsError(f"lake URL {url!r}: only local folders and s3:// are supported")
    return Path(url).expanduser()


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


def lake_url(
    folder: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> str:
    """The lake: `$CCEE_WEBHOOK_LAKE_URL` > TOML `lake_url` > `<data folder>/lake`."""
    env = os.environ if env is None else env
    if env.get(LAKE_URL_ENV):
        return env[LAKE_URL_ENV]
    _, data = load_config_file(env)
    if data.get("lake_url"):
        return str(data["lake_url"])
    return str(lake_root(folder if folder is not None else data_dir(env=env)))


def lake_location(
    folder: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> LakeLocation:
    """`lake_url()` parsed: a local folder or an `S3Lake`."""
    return parse_lake_url(lake_url(folder, env))


def warehouse_path(folder: str | os.PathLike[str] | None = None) -> Path:
    """`<data folder>/warehouse.duckdb`: written only by Dagster."""
    return Path(folder if folder is not None else data_dir()) / "warehouse.duckdb"


def reports_dir(folder: str | os.PathLike[str] | None = None) -> Path:
    """`<data folder>/reports`: the exported HTML reports."""
    return Path(folder if folder is not None else data_dir()) / "reports"


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where derived files that are costly to rebuild and never data live (e.g. the reports'
    charting bundle): `$CCEE_WEBHOOK_CACHE_DIR` > `$XDG_CACHE_HOME/ccee-webhook` >
    `~/.cache/ccee-webhook`. Deleting it loses nothing but time."""
    env = os.environ if env is None else env
    if env.get(CACHE_DIR_ENV):
        return Path(env[CACHE_DIR_ENV]).expanduser()
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "ccee-webhook"
