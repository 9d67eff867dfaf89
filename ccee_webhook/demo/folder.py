"""The demo's own folder and environment: created fresh, never someone else's, never leaking.

The demo only ever wipes a folder it created (marked with `MARKER`), and runs every part with
an environment stripped of the user's `CCEE_WEBHOOK_*`, so a production profile, certificate
or token can never be picked up by accident.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path

import click

from settings import ENV_PREFIX, data_dir

MARKER = ".ccee-webhook-demo"
CONFIG_NAME = "ccee-webhook.toml"


class DemoError(click.ClickException):
    """A failure with a message for the user; exit code 1."""


def default_dir() -> Path:
    """`$CCEE_WEBHOOK_DATA_DIR/demo` (`./data/demo` by default)."""
    return data_dir() / "demo"


def prepare_folder(folder: Path, keep: bool) -> None:
    """Start fresh (or keep with --keep), refusing to wipe a folder the demo did not create."""
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise DemoError(f"{folder} exists and is not a folder")
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            what = "add demo data to" if keep else "wipe"
            raise DemoError(
                f"{folder} is not empty and was not created by `ccee-webhook demo`; refusing to "
                f"{what} it. Choose another --data-dir (the demo only ever touches its own "
                "folder)."
            )
        if not keep:
            shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(
        "Created by `ccee-webhook demo`; re-running the demo wipes this folder.\n",
        encoding="utf-8",
    )


def write_config(folder: Path, partitions_start: date) -> Path:
    """The demo's TOML file: its data folder and where its day partitions start (profiles
    come from the demo's environment, never from a file)."""
    path = folder / CONFIG_NAME
    path.write_text(
        "# Written by `ccee-webhook demo`: the demo's settings (profiles come from its "
        "environment).\n"
        f'data_dir = "{folder.as_posix()}"\n'
        f'partitions_start = "{partitions_start.isoformat()}"\n',
        encoding="utf-8",
    )
    return path


def clean_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without any `CCEE_WEBHOOK_*`."""
    base = os.environ if base is None else base
    return {k: v for k, v in base.items() if not k.startswith(ENV_PREFIX)}


@contextlib.contextmanager
def scoped_env(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ without any CCEE_WEBHOOK_* of the user's, plus `values`; restored after.

    Dagster resources and the CCEE client read their configuration from the environment; the
    demo must never pick up a user's production profile or certificate by accident."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(clean_env(saved))
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
