"""`ccee-webhook report`: export the marimo reports as static, self-contained HTML pages."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from settings import DATA_DIR_ORDER, reports_dir, warehouse_path
from settings import data_dir as default_data_dir


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data folder: the warehouse is read from DATA_DIR/warehouse.duckdb. "
    f"[default: {DATA_DIR_ORDER}]",
)
@click.option(
    "--warehouse",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read this DuckDB file instead of DATA_DIR/warehouse.duckdb (opened read-only).",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the pages [default: DATA_DIR/reports].",
)
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(["contract_events", "energy_amount_events", "delivery_health"]),
    help="Export only this report (repeatable). Default: all.",
)
def report(
    data_dir: Path | None, warehouse: Path | None, output_dir: Path | None, only: tuple[str, ...]
) -> None:
    """Export the HTML reports (contracts, energy amounts, event volumes, delivery health).

    Each notebook in notebooks/ runs against the warehouse, read-only, and is written as one
    HTML file that opens offline (charts and their JavaScript are embedded). A missing or
    empty warehouse still produces pages, which say there is no data yet.
    """
    from pipelines.defs.reports.export import RELATORIOS, ExportError, export_report

    folder = default_data_dir(data_dir)
    wh = warehouse or warehouse_path(folder)
    out = output_dir or reports_dir(folder)
    chosen = [r for r in RELATORIOS if not only or r.nome in only]
    if not wh.exists():
        click.echo(f"note: {wh} does not exist yet; the reports will say so", err=True)
    failures = 0
    with click.progressbar(
        chosen,
        label=f"Exporting {len(chosen)} report(s) to {out}",
        item_show_func=lambda r: r.nome if r else None,
        file=sys.stderr,
    ) as bar:
        for rel in bar:
            try:
                path = export_report(rel, wh, out)
            except ExportError as exc:
                failures += 1
                click.echo(f"\nerror: {exc}", err=True)
                continue
            click.echo(f"{path}")
    if failures:
        raise click.ClickException(f"{failures} report(s) failed")
