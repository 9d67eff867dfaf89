"""Plain-HTML building blocks (no marimo custom elements) so they render identically in
``marimo run`` and in the static HTML export."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

_TONS = {
    "ok": ("#e8f5e9", "#1b5e20"),
    "alerta": ("#fff8e1", "#8a6100"),
    "critico": ("#ffebee", "#b71c1c"),
    "neutro": ("#f3f4f6", "#111827"),
}


@dataclass(frozen=True)
class Indicador:
    rotulo: str
    valor: str
    detalhe: str = ""
    tom: str = "neutro"


def cartoes(indicadores: Sequence[Indicador]) -> str:
    """A row of KPI cards; each card carries data-indicador for tests and screen readers."""
    cards = []
    for i in indicadores:
        bg, fg = _TONS.get(i.tom, _TONS["neutro"])
        cards.append(
            f'<div class="ccee-kpi" data-indicador="{html.escape(i.rotulo)}" data-tom="{i.tom}" '
            f'style="background:{bg};color:{fg};border-radius:8px;padding:10px 14px;'
            f'min-width:150px;flex:1">'
            f'<div style="font-size:0.8rem;opacity:0.85">{html.escape(i.rotulo)}</div>'
            f'<div style="font-size:1.6rem;font-weight:700">{html.escape(i.valor)}</div>'
            f'<div style="font-size:0.75rem;opacity:0.8">{html.escape(i.detalhe)}</div></div>'
        )
    return (
        '<div class="ccee-kpis" style="display:flex;flex-wrap:wrap;gap:10px;margin:8px 0">'
        + "".join(cards)
        + "</div>"
    )


def aviso(titulo: str, texto: str, tom: str = "alerta") -> str:
    """A banner: used for the data-loss alarm and for the 'no data yet' state."""
    bg, fg = _TONS.get(tom, _TONS["alerta"])
    return (
        f'<div class="ccee-aviso" data-tom="{tom}" style="background:{bg};color:{fg};'
        f'border-left:6px solid {fg};padding:10px 14px;border-radius:6px;margin:8px 0">'
        f"<strong>{html.escape(titulo)}</strong><br>{html.escape(texto)}</div>"
    )


def sem_dados(o_que: str, caminho: object) -> str:
    """The 'no data yet' state, naming what is missing and where we looked."""
    return aviso(
        "Sem dados ainda",
        f"{o_que} — armazém consultado: {caminho}. Os dados aparecem depois que o Dagster "
        "materializar as tabelas a partir do lago.",
        tom="neutro",
    )


def fmt_int(v: int | None) -> str:
    """Brazilian thousands: 1.234."""
    return "—" if v is None else f"{int(v):,}".replace(",", ".")


def fmt_num(v: float | None, casas: int = 1) -> str:
    """Brazilian number format: 12.345,7."""
    if v is None:
        return "—"
    return f"{float(v):,.{casas}f}".replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def fmt_pct(v: float | None, casas: int = 1) -> str:
    """A fraction as a Brazilian percentage: 0.976 → 97,6 %."""
    return "—" if v is None else f"{fmt_num(v * 100, casas)} %"


def fmt_seg(v: float | None) -> str:
    """Seconds in a readable unit (s / min / h / dias), Brazilian decimals."""
    if v is None:
        return "—"
    if v < 120:
        return f"{v:.0f} s"
    if v < 7200:
        return f"{fmt_num(v / 60)} min"
    if v < 172800:
        return f"{fmt_num(v / 3600)} h"
    return f"{fmt_num(v / 86400)} dias"


def fmt_valor(v: object) -> str:
    """One table cell: numbers, instants and dates the Brazilian way; None as a dash."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "sim" if v else "não"
    if isinstance(v, int):
        return fmt_int(v)
    if isinstance(v, float | Decimal):
        f = float(v)
        return fmt_num(f, 0 if f.is_integer() else 3 if abs(f) < 10 else 1)
    if isinstance(v, dt.datetime):
        return v.strftime("%d/%m/%Y %H:%M")
    if isinstance(v, dt.date):
        return v.strftime("%d/%m/%Y")
    return str(v)


#: Cell spacing, inline: a live marimo dashboard gives table cells none, and a right-aligned
#: number would run into the next column's text ("perfil 14" + "88888").
CELULA = "padding:4px 8px"

#: Columns that are codes, not quantities: shown verbatim (no thousands separator).
IDENTIFICADORES = frozenset({"id_contrato", "perfil", "status_http", "transaction_id"})


def _celula(coluna: str, v: object) -> str:
    numero = isinstance(v, int | float | Decimal) and not isinstance(v, bool)
    if coluna in IDENTIFICADORES and v is not None:
        texto = str(v)
    elif numero and coluna.startswith("taxa"):
        texto = fmt_pct(float(v))  # type: ignore[arg-type]
    elif numero and coluna.endswith("_s"):
        texto = fmt_seg(float(v))  # type: ignore[arg-type]
    else:
        texto = fmt_valor(v)
    alinhamento = "right" if numero and coluna not in IDENTIFICADORES else "left"
    return f'<td style="{CELULA};text-align:{alinhamento}">{html.escape(texto)}</td>'


def tabela(df: pl.DataFrame, rotulos: dict[str, str] | None = None, limite: int = 200) -> str:
    """A plain HTML table with human column labels and Brazilian number formatting."""
    from notebooks.report_kit.charts import ROTULOS

    nomes = {**ROTULOS, **(rotulos or {})}
    head = "".join(
        f'<th style="{CELULA}">{html.escape(nomes.get(c, c))}</th>' for c in df.columns
    )
    linhas = []
    for row in df.head(limite).iter_rows():
        tds = "".join(_celula(c, v) for c, v in zip(df.columns, row, strict=True))
        linhas.append(f"<tr>{tds}</tr>")
    resto = (
        f'<p class="nota">Mostrando {fmt_int(limite)} de {fmt_int(df.height)} linhas.</p>'
        if df.height > limite
        else ""
    )
    return (
        '<table class="tabela" style="border-collapse:collapse;font-size:0.85rem">'
        f"<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(linhas)}</tbody></table>{resto}"
    )
