"""`ccee-webhook events | results | prefs ...`: CCEE's notification services from a shell.

Tables by default, `--json` for scripts. Secrets are never printed: tokens in destination
URLs are redacted, passwords only come from the environment or files.
"""

from __future__ import annotations

import difflib
import functools
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click
import msgspec
from rich.console import Console
from rich.table import Table

from ccee.config import select_profile
from ccee.contract import SITUACAO_AGUARDANDO, SITUACAO_EXPIRADO, SITUACAO_NOTIFICADO
from ccee.errors import AuthError, CCEEError
from ccee.models import EventoNotificacao, ResultadoNotificacao
from ccee.subscriptions import PlanChange, Redactor, SubscriptionsError, expand, sync
from settings import SettingsError

if TYPE_CHECKING:  # zeep and friends load only when a command talks to CCEE
    from ccee.client import CCEEClient

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_SUBSCRIPTIONS_FILE = "ccee-subscriptions.yaml"
#: delivery states CCEE's results use (EXPIRADO is ours: CCEE has not published its name)
SITUACOES = (SITUACAO_NOTIFICADO, SITUACAO_AGUARDANDO, SITUACAO_EXPIRADO)


def _console() -> Console:
    # Wide when piped, so codes and URLs are not folded mid-word.
    return Console(width=None if sys.stdout.isatty() else 240, highlight=False)


class JsonError(click.ClickException):
    """An error of a `--json` command: `{"error": {"type", "message"}}` on stderr, exit 1."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind

    def show(self, file: IO[Any] | None = None) -> None:
        doc = {"error": {"type": self.kind, "message": self.format_message()}}
        click.echo(msgspec.json.encode(doc).decode(), err=True)


def _errors(fn: F) -> F:
    """Turn client errors into one readable line and exit code 1 (never a traceback); with
    `--json`, the error is a JSON object on stderr so scripts can parse it too."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (CCEEError, SubscriptionsError, SettingsError, ValueError) as exc:
            message = f"authentication refused: {exc}" if isinstance(exc, AuthError) else str(exc)
            if kwargs.get("as_json"):
                raise JsonError(message, type(exc).__name__) from None
            raise click.ClickException(message) from None

    return wrapper  # type: ignore[return-value]


def _warn(message: str, as_json: bool) -> None:
    """A warning on stderr (JSON with --json), never mixed into the command's output."""
    if as_json:
        click.echo(msgspec.json.encode({"warning": message}).decode(), err=True)
    else:
        click.echo(f"warning: {message}", err=True)


def _unknown(kind: str, value: str, known: Iterable[str]) -> str | None:
    """A warning naming the closest known values when `value` is not one of `known`."""
    known = sorted(set(known))
    if value in known:
        return None
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
    return f"CCEE knows no {kind} {value!r} ({hint}); the filter matches nothing CCEE sends"


def _common(fn: F) -> F:
    fn = click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=30.0,
        show_default=True,
        help="Seconds to wait for each CCEE answer.",
    )(fn)
    fn = click.option(
        "--perfil",
        envvar=None,
        default=None,
        metavar="NAME",
        help="Profile to act as (a [perfis.NAME] of the config, or a codigoPerfilAgente). "
        "Default: $CCEE_WEBHOOK_PERFIL.",
    )(fn)
    return fn


def _json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        fn
    )


def _client(perfil: str | None, timeout: float) -> CCEEClient:
    from ccee.client import CCEEClient

    return CCEEClient(select_profile(perfil), timeout=timeout)


def _redactor(extra: Iterable[str] = ()) -> Redactor:
    return Redactor.from_env(os.environ, extra)


def _print_json(value: Any) -> None:
    click.echo(msgspec.json.encode(value).decode())


# -- events -----------------------------------------------------------------------------
@click.command("events")
@click.option("--entidade", help="Only events of this entity, e.g. CONTRATO.")
@click.option("--evento", help="Only events with this name, e.g. REGISTRADO.")
@_json_option
@_common
@_errors
def events(
    entidade: str | None, evento: str | None, as_json: bool, perfil: str | None, timeout: float
) -> None:
    """List the notification events CCEE offers (listarEventoNotificacao)."""
    with _client(perfil, timeout) as client:
        items: list[EventoNotificacao] = client.listar_eventos(entidade=entidade, evento=evento)
    if as_json:
        _print_json(items)
        return
    table = Table("codigo", "entidade", "evento", title=f"{len(items)} events")
    for e in items:
        table.add_row(e.codigo, e.entidade or "", e.evento or "")
    _console().print(table)


# -- results ----------------------------------------------------------------------------
@click.command("results")
@click.option(
    "--dia", help="Day (YYYY-MM-DD; we read it as the São Paulo calendar day of dataOrigem)."
)
@click.option("--evento", help="Event code, e.g. CONTRATO.REGISTRADO.")
@click.option("--situacao", help=f"Delivery state: {', '.join(SITUACOES)}.")
@click.option("--transaction-id", help="One notification's transactionId.")
@click.option("--page-size", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option(
    "--start-page",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Resume a long pull from this page.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after N results.")
@_json_option
@_common
@_errors
def results(
    dia: str | None,
    evento: str | None,
    situacao: str | None,
    transaction_id: str | None,
    page_size: int,
    start_page: int,
    limit: int | None,
    as_json: bool,
    perfil: str | None,
    timeout: float,
) -> None:
    """List delivery results of notifications (listarResultadoNotificacao).

    With --json, results stream out as a JSON array one page at a time (memory-bounded).
    """
    redact = _redactor()
    err = Console(stderr=True, highlight=False)
    count = 0
    table = Table(
        "transactionId",
        "evento",
        "situacao",
        "dataOrigem",
        "dataNotificacao",
        "destino",
        "invalidos",
    )
    if situacao is not None and (warning := _unknown("situacao", situacao, SITUACOES)):
        _warn(warning, as_json)
    with _client(perfil, timeout) as client:
        if evento is not None:
            offered = [e.codigo for e in client.listar_eventos()]
            if warning := _unknown("event code", evento, offered):
                _warn(warning, as_json)
        opened = False  # "[" only once the first page came back, so an error leaves no output
        for pagina in client.paginas_resultados(
            evento=evento,
            dia=dia,
            situacao=situacao,
            transaction_id=transaction_id,
            page_size=page_size,
            start_page=start_page,
        ):
            if as_json and not opened:
                click.echo("[", nl=False)
                opened = True
            if pagina.total_paginas and pagina.total_paginas > 1 and err.is_terminal:
                err.print(f"page {pagina.numero}/{pagina.total_paginas}", end="\r")
            for r in pagina.itens:
                if limit is not None and count >= limit:
                    break
                r = _redacted_result(r, redact)
                if as_json:
                    click.echo(
                        ("," if count else "") + "\n" + msgspec.json.encode(r).decode(), nl=False
                    )
                else:
                    table.add_row(
                        r.transaction_id or "",
                        r.evento_notificacao or "",
                        r.situacao or "",
                        r.data_origem_raw or "",
                        r.data_notificacao_raw or "",
                        r.endereco_destino or "",
                        ",".join(r.invalidos),
                    )
                count += 1
            if limit is not None and count >= limit:
                break
    if as_json:
        click.echo("\n]" if count else ("]" if opened else "[]"))
        return
    table.title = f"{count} results"
    _console().print(table)


def _redacted_result(r: ResultadoNotificacao, redact: Redactor) -> ResultadoNotificacao:
    return msgspec.structs.replace(r, endereco_destino=redact(r.endereco_destino))


# -- prefs ------------------------------------------------------------------------------
@click.group("prefs")
def prefs() -> None:
    """Manage notification preferences (which events CCEE POSTs to which URL).

    `plan`/`apply` sync a YAML file of desired subscriptions (subscriptions as code).
    """


@prefs.command("list")
@click.option("--page-size", type=click.IntRange(1, 1000), default=50, show_default=True)
@_json_option
@_common
@_errors
def prefs_list(page_size: int, as_json: bool, perfil: str | None, timeout: float) -> None:
    """List the profile's preferences (destination tokens redacted)."""
    redact = _redactor()
    with _client(perfil, timeout) as client:
        items = [
            msgspec.structs.replace(p, endereco_destino=redact(p.endereco_destino))
            for p in client.listar_preferencias(page_size=page_size)
        ]
    if as_json:
        _print_json(items)
        return
    table = Table("evento", "destino", title=f"{len(items)} preferences")
    for p in items:
        table.add_row(p.evento_notificacao, p.endereco_destino or "")
    _console().print(table)


def _url_argument(url: str) -> str:
    """The URL with `${VAR}` resolved from the environment (tokens stay out of history)."""
    return expand(url, os.environ, "URL")[0]


@prefs.command("add")
@click.argument("codigo")
@click.argument("url")
@_common
@_errors
def prefs_add(codigo: str, url: str, perfil: str | None, timeout: float) -> None:
    """Subscribe URL to event CODIGO. URL may use ${VAR} (quote it) to keep a token secret."""
    resolved = _url_argument(url)
    with _client(perfil, timeout) as client:
        click.echo(client.incluir_preferencia(codigo, resolved))


@prefs.command("update")
@click.argument("codigo")
@click.argument("url")
@_common
@_errors
def prefs_update(codigo: str, url: str, perfil: str | None, timeout: float) -> None:
    """Point the preference for CODIGO at URL (${VAR} allowed)."""
    resolved = _url_argument(url)
    with _client(perfil, timeout) as client:
        click.echo(client.atualizar_preferencia(codigo, resolved))


@prefs.command("delete")
@click.argument("codigo")
@_common
@_errors
def prefs_delete(codigo: str, perfil: str | None, timeout: float) -> None:
    """Delete the preference for CODIGO."""
    with _client(perfil, timeout) as client:
        click.echo(client.excluir_preferencia(codigo))


_file_argument = click.argument(
    "file", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_SUBSCRIPTIONS_FILE,
    required=False,
)
_keep_option = click.option(
    "--keep-extra",
    is_flag=True,
    help="Do not delete preferences that exist at CCEE but are absent from FILE.",
)


def _print_plan(mudancas: list[PlanChange], title: str) -> None:
    table = Table("acao", "evento", "atual", "desejado", title=title)
    styles = {"add": "green", "update": "yellow", "delete": "red", "unchanged": "dim"}
    for m in mudancas:
        table.add_row(f"[{styles[m.acao]}]{m.acao}[/]", m.codigo, m.atual or "", m.desejado or "")
    _console().print(table)


@prefs.command("plan")
@_file_argument
@_keep_option
@_json_option
@_common
@_errors
def prefs_plan(
    file: Path, keep_extra: bool, as_json: bool, perfil: str | None, timeout: float
) -> None:
    """Show what `apply` would change: add / update / delete / unchanged (no change made).

    FILE is a subscriptions YAML file (default: ./ccee-subscriptions.yaml).
    """
    plano = sync(file, perfil=perfil, timeout=timeout, keep_extra=keep_extra).plano
    if as_json:
        _print_json({"mudancas": plano.mudancas, "resumo": plano.summary()})
        return
    _print_plan(plano.mudancas, f"plan: {plano.summary()}")


@prefs.command("apply")
@_file_argument
@_keep_option
@_json_option
@_common
@_errors
def prefs_apply(
    file: Path, keep_extra: bool, as_json: bool, perfil: str | None, timeout: float
) -> None:
    """Make CCEE's preferences match FILE. Idempotent: a second run changes nothing.

    FILE is a subscriptions YAML file (default: ./ccee-subscriptions.yaml). Refuses, before
    any change, event codes that listarEventoNotificacao does not offer.
    """
    done = sync(
        file, perfil=perfil, timeout=timeout, keep_extra=keep_extra, apply=True,
        on_change=None if as_json else lambda m, msg: click.echo(f"{m.acao:<9} {m.codigo}: {msg}"),
    )
    plano = done.plano
    if not plano.has_changes:
        if as_json:
            _print_json({"aplicadas": [], "resumo": plano.summary()})
        else:
            click.echo(f"nothing to change ({plano.summary()})")
        return
    if as_json:
        _print_json({
            "aplicadas": [{"mudanca": m, "mensagem": msg} for m, msg in done.aplicadas],
            "resumo": plano.summary(),
        })
    else:
        click.echo(f"applied: {plano.summary()}")
