"""The `ccee-webhook` command: one entry point; each subcommand lives in the part it drives.

Subcommands are imported lazily so that `ccee-webhook --help` stays fast and a part's heavy
imports (Dagster, zeep) are paid only by the command that needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

#: subcommand -> "module:attribute" of a `click.Command`; each part owns its module.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("ingest.serve_cmd:serve", "Run the webhook receiver (CCEE's callbacks → lake)."),
    "simulate": ("simulator.cli:simulate", "Run a local CCEE: SOAP services + dispatcher."),
    "events": ("ccee.cli:events", "List the notification events CCEE offers."),
    "prefs": ("ccee.cli:prefs", "Manage notification preferences (subscriptions)."),
    "results": ("ccee.cli:results", "List delivery results of notifications."),
    "alerts": ("pipelines.alerts_cmd:alerts", "List open alert incidents and recent alerts."),
    "quarantine": ("ingest.quarantine_cmd:quarantine", "List, show and replay refused requests."),
    "report": ("pipelines.report_cmd:report", "Export the HTML reports to data/reports/."),
    "demo": ("ccee_webhook.demo.command:demo", "Run the whole product end to end on one machine."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        command: Any = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target[0]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table above, so --help does not import every part.
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ccee-webhook")
def main() -> None:
    """Receive, keep and analyse CCEE's webhook notifications."""
