"""`ccee-webhook quarantine list|show|replay`: the receiver's dead-letter queue, by hand.

The logic lives in `ingest.quarantine`; this module only parses options and prints.
"""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import msgspec

from settings import CCEE_TZ, DATA_DIR_ORDER, DEFAULT_MAX_BODY, SettingsError, parse_size
from settings import data_dir as default_data_dir

#: A progress line on stderr every this many entries examined by replay.
PROGRESS_EVERY = 1000

_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: default_data_dir(),
    show_default=DATA_DIR_ORDER,
    help="Data folder: the quarantine is DATA_DIR/lake/quarentena/.",
)
_since = click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only entries of this São Paulo day (the lake's dt= folders) and later.",
)
_motivo = click.option(
    "--motivo", default=None, help="Only entries refused for this reason (e.g. schema_invalido)."
)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _local(value: datetime) -> str:
    return value.astimezone(CCEE_TZ).isoformat(timespec="seconds")


class _Group(click.Group):
    """Turns a QuarantineError (e.g. an object-store lake) into a plain CLI error."""

    def invoke(self, ctx: click.Context) -> object:
        from ingest.quarantine import QuarantineError

        try:
            return super().invoke(ctx)
        except QuarantineError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def quarantine() -> None:
    """Inspect and replay the requests the receiver refused (lake/quarentena).

    After the acceptance rule changes, `replay` writes the quarantined callbacks that now
    pass into the lake as deliveries, exactly once; Dagster loads them like any other.
    """


@quarantine.command("list")
@_data_dir
@_since
@_motivo
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry, in a list.")
def list_cmd(data_dir: Path, since: datetime | None, motivo: str | None, as_json: bool) -> None:
    """List quarantined requests, oldest first (times in São Paulo)."""
    from ingest.quarantine import entries, marker

    rows: list[dict[str, Any]] = []
    for e in entries(data_dir, _day(since), motivo):
        done = marker(data_dir, e.id)
        rows.append(
            {
                "id": e.id,
                "recebido_em": e.recebido_em,
                "motivo": e.motivo,
                "status_http": e.status_http,
                "tamanho": e.tamanho,
                "perfil": e.perfil,
                "transaction_id": e.transaction_id,
                "evento_notificacao": e.evento_notificacao,
                "reprocessado_em": done.reprocessado_em if done else None,
                "arquivo_reprocessado": done.arquivo if done else None,
            }
        )
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(rows)).decode())
        return
    if not rows:
        click.echo("no quarantined requests", err=True)
        return
    header = ("ID", "RECEBIDO_EM", "MOTIVO", "HTTP", "TRANSACTION_ID", "EVENTO", "REPLAY")
    table = [
        (
            r["id"],
            _local(r["recebido_em"]),
            r["motivo"],
            str(r["status_http"]),
            (r["transaction_id"] or "-")[:40],
            (r["evento_notificacao"] or "-")[:40],
            "sim" if r["reprocessado_em"] else "-",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    click.echo(f"{len(rows)} entries", err=True)


@quarantine.command("show")
@_data_dir
@click.argument("entry_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="As one JSON object (body as text).")
def show_cmd(data_dir: Path, entry_id: str, as_json: bool) -> None:
    """Show one entry: reason, detail, ids, raw body, and where a replay put it.

    ID is the id printed by `list` (or a unique prefix of at least 6 characters)."""
    from ingest.quarantine import find, marker

    e = find(data_dir, entry_id)
    if e is None:
        raise click.ClickException(f"no single quarantine entry with id {entry_id!r}")
    done = marker(data_dir, e.id)
    doc: dict[str, Any] = {
        "id": e.id,
        "arquivo": e.arquivo,
        "linha": e.linha,
        "recebido_em": e.recebido_em,
        "destino": e.destino,
        "perfil": e.perfil,
        "motivo": e.motivo,
        "status_http": e.status_http,
        "detalhe": e.detalhe,
        "content_type": e.content_type,
        "tamanho": e.tamanho,
        "instancia": e.instancia,
        "transaction_id": e.transaction_id,
        "evento_notificacao": e.evento_notificacao,
        "reprocessamento": done,
        "corpo": e.corpo.decode("utf-8", "replace"),
    }
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(doc)).decode())
        return
    for key, value in doc.items():
        if key in ("corpo", "reprocessamento"):
            continue
        if isinstance(value, datetime):
            value = f"{_local(value)} ({value.isoformat()})"
        click.echo(f"{key + ':':<20}{'-' if value is None else value}")
    if done is None:
        click.echo(f"{'reprocessamento:':<20}- (not replayed)")
    else:
        click.echo(f"{'reprocessamento:':<20}{_local(done.reprocessado_em)} → {done.arquivo}")
        if done.avisos:
            click.echo(f"{'avisos:':<20}{', '.join(done.avisos)}")
    truncated = " (truncated: only this prefix was kept)" if e.truncado else ""
    click.echo(f"corpo ({len(e.corpo)} of {e.tamanho} bytes){truncated}:")
    click.echo(doc["corpo"])


@quarantine.command("replay")
@_data_dir
@_since
@_motivo
@click.option("--dry-run", is_flag=True, help="Re-check and report; write nothing.")
@click.option(
    "--max-body",
    default=lambda: os.environ.get("CCEE_WEBHOOK_MAX_BODY") or str(DEFAULT_MAX_BODY),
    show_default="$CCEE_WEBHOOK_MAX_BODY or 1 MiB",
    help="The receiver's body limit to re-check against (bytes, KiB, MiB).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def replay_cmd(
    data_dir: Path,
    since: datetime | None,
    motivo: str | None,
    dry_run: bool,
    max_body: str,
    as_json: bool,
) -> None:
    """Re-check quarantined bodies under today's rule; write those that pass into the lake.

    Each passing entry becomes one delivery in lake/notificacoes/dt=<its day>/ (instancia
    `replay`, recebido_em as originally received), written once: a marker in
    lake/_reprocessados/ records where it went, and running replay again adds nothing.
    """
    from ingest.quarantine import replay

    try:
        limit = parse_size(max_body)
    except SettingsError as exc:
        raise click.BadParameter(str(exc), param_hint="--max-body") from None

    def progress(n: int) -> None:
        if n % PROGRESS_EVERY == 0:
            click.echo(f"… {n} entries examined", err=True)

    resumo = replay(
        data_dir, _day(since), motivo, dry_run=dry_run, max_body=limit, progress=progress
    )
    if as_json:
        click.echo(
            msgspec.json.format(
                msgspec.json.encode({**resumo.__dict__, "dry_run": dry_run})
            ).decode()
        )
        return
    verb = "would replay" if dry_run else "replayed"
    click.echo(f"examined:          {resumo.examinadas}")
    click.echo(f"{verb + ':':<19}{resumo.reprocessadas}")
    click.echo(f"already replayed:  {resumo.ja_reprocessadas}")
    click.echo(f"still refused:     {sum(resumo.recusadas.values())}")
    for reason, n in sorted(resumo.recusadas.items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"  {reason}: {n}")
    if resumo.reprocessadas and not dry_run:
        click.echo("the lake sensor loads the replayed deliveries on its next tick", err=True)
    sys.stdout.flush()
