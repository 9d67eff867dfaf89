"""The TOML configuration file: found once, read once per call, shared by every part.

`$CCEE_WEBHOOK_CONFIG` names it explicitly (it must exist); otherwise `./ccee-webhook.toml`
is used when present. CCEE profiles live under `[perfis.*]` (ccee/config.py), shared settings
at the top level (`data_dir`) and the receiver's under `[receiver]` (settings/receiver.py).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "CCEE_WEBHOOK_"
CONFIG_ENV = f"{ENV_PREFIX}CONFIG"
DEFAULT_CONFIG_FILE = "ccee-webhook.toml"


class SettingsError(ValueError):
    """Invalid configuration; the message never contains a secret."""


def config_file_path(env: Mapping[str, str] | None = None) -> Path | None:
    """`$CCEE_WEBHOOK_CONFIG` (must be a file), else `./ccee-webhook.toml` if it exists."""
    env = os.environ if env is None else env
    explicit = env.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise SettingsError(f"{CONFIG_ENV} points to {path}, which is not a file")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_config_file(
    env: Mapping[str, str] | None = None, path: Path | None = None
) -> tuple[Path | None, dict[str, Any]]:
    """The configuration file's path and contents ({} when there is none)."""
    path = path if path is not None else config_file_path(env)
    if path is None:
        return None, {}
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read config file {path}: {exc}") from exc


def table(data: Mapping[str, Any], name: str, path: Path | None) -> dict[str, Any]:
    """A `[name]` table of the file, {} when absent; refused when it is not a table."""
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SettingsError(f"{path}: '{name}' must be a [{name}] table")
    return value
