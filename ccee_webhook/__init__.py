"""ccee-webhook, the product: the `ccee-webhook` command and the end-to-end demo.

This package wires the parts (`ccee`, `ingest`, `simulator`, `pipelines`, `notebooks`, all
configured through `settings`); no part imports it. Its public surface is the command line:
`main` is the `ccee-webhook` entry point, whose subcommands (`serve`, `demo`, `report`,
`ccee ...`, `simulator ...`) load their modules only when run (`ccee_webhook.cli.COMMANDS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ccee_webhook.cli import main

__all__ = ["main"]


def __getattr__(name: str) -> Any:
    if name == "main":
        from ccee_webhook.cli import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
