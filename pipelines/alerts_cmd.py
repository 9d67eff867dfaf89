"""`ccee-webhook alerts`: the open incidents and the recent alerts, from `alerts.jsonl`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import msgspec

from settings import DATA_DIR_ORDER
from settings import data_dir as default_data_dir

#: alerts newer than this are listed besides the open incidents (without --all)
RECENT = timedelta(hours=24)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Data folder holding alerts.jsonl. [default: {DATA_DIR_ORDER}]",
)
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: {abertos: [...], alertas: [...]} (alerts.jsonl records).")
@click.option("--all", "show_all", is_flag=True,
              help="List every alert in alerts.jsonl, not only the last 24 hours.")
@click.option("--evaluate", is_flag=True,
              help="Evaluate the warehouse rules now and send what is due (as the Dagster "
              "sensor does) before listing.")
def alerts(data_dir: Path | None, as_json: bool, show_all: bool, evaluate: bool) -> None:
    """Open alert incidents and recent alerts (opened / resolved).

    Alerts are raised by the Dagster sensor `alerts_sensor` (data loss, expirations, silence,
    quarantine spike, failing results pull, failed asset checks), appended to
    DATA_DIR/alerts.jsonl and sent to the configured webhook and e-mail. Exit status 0 even
    when incidents are open; use --json in scripts.
    """
    from pipelines.core import alerts_log
    from pipelines.core.incidents import FILE_NAME, IncidentStore

    folder = default_data_dir(data_dir)
    if evaluate:
        from pipelines.core.alerting import evaluate as run_rules

        outcome = run_rules(folder)
        click.echo(
            f"evaluated {', '.join(sorted(outcome.evaluated)) or 'no rule (no warehouse yet)'}: "
            f"{len(outcome.alerts)} new alert(s)",
            err=True,
        )
    records = alerts_log.read(folder)
    abertos = alerts_log.open_incidents(records)
    shown = records if show_all else alerts_log.since(records, datetime.now(UTC) - RECENT)
    pending = IncidentStore(folder).pending() if (folder / FILE_NAME).exists() else {}
    if as_json:
        click.echo(
            msgspec.json.format(
                msgspec.json.encode(
                    {"abertos": abertos, "alertas": shown, "fila_de_envio": pending}
                )
            ).decode()
        )
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not records:
        console.print(f"no alert yet ({alerts_log.path(folder)} is empty or absent)")
        return
    table = Table(title=f"open incidents: {len(abertos)}", title_justify="left")
    for col in ("since (UTC)", "rule", "count", "what"):
        table.add_column(col)
    for a in abertos:
        table.add_row(a.aberto_em.strftime("%Y-%m-%d %H:%M"), a.regra, str(a.contagem), a.titulo)
    console.print(table)
    label = "all alerts" if show_all else "alerts of the last 24 h"
    recent = Table(title=f"{label}: {len(shown)}", title_justify="left")
    for col in ("at (UTC)", "state", "rule", "count", "first / last transactionId"):
        recent.add_column(col)
    for a in shown:
        ids = " / ".join(x for x in (a.primeiro_transaction_id, a.ultimo_transaction_id) if x)
        recent.add_row(a.em.strftime("%Y-%m-%d %H:%M"), a.estado, a.regra, str(a.contagem), ids)
    console.print(recent)
    for canal, n in sorted(pending.items()):
        console.print(f"[yellow]{n} message(s) waiting for the {canal} channel (retried)[/]")
