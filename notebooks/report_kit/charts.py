"""Altair charts with Portuguese labels, units in titles and São Paulo days on the x axis.

Days arrive as 'YYYY-MM-DD' strings and are read as UTC dates so a browser in any zone shows
the same São Paulo calendar day the SQL computed.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

DIA_X = alt.X(
    "dia:T",
    timeUnit="utcyearmonthdate",
    title="Dia (America/Sao_Paulo)",
    scale=alt.Scale(type="utc"),
    axis=alt.Axis(
        format="%d/%m/%Y", labelAngle=-30, tickCount={"interval": "day", "step": 1}
    ),
)
#: Axis for counts: whole numbers only.
CONTAGEM = alt.Axis(format=",d", tickMinStep=1)
LARGURA = 640


def _base(df: pd.DataFrame, titulo: str, subtitulo: str | None = None) -> alt.Chart:
    title = alt.TitleParams(titulo, subtitle=subtitulo or "", anchor="start")
    return alt.Chart(df).properties(title=title, width=LARGURA, height=260)


def barras_por_dia(
    df: pd.DataFrame,
    titulo: str,
    cor: str = "evento_notificacao",
    subtitulo: str = "quantidade de eventos por dia de origem",
    eixo_y: str = "Eventos (quantidade)",
) -> alt.Chart:
    """Stacked daily volume bars (column ``eventos``) coloured by a category."""
    return (
        _base(df, titulo, subtitulo)
        .mark_bar()
        .encode(
            x=DIA_X,
            y=alt.Y("sum(eventos):Q", title=eixo_y, axis=CONTAGEM),
            color=alt.Color(f"{cor}:N", title=ROTULOS.get(cor, cor)),
            tooltip=[
                alt.Tooltip("dia:T", timeUnit="utcyearmonthdate", title="Dia"),
                alt.Tooltip(f"{cor}:N", title=ROTULOS.get(cor, cor)),
                alt.Tooltip("sum(eventos):Q", title=eixo_y),
            ],
        )
    )


def barras_categoria(
    df: pd.DataFrame,
    categoria: str,
    valor: str,
    titulo: str,
    cor: str | None = None,
    contagem: bool = True,
) -> alt.Chart:
    """Horizontal bars of a measure per category, optionally stacked by a second category."""
    eixo = CONTAGEM if contagem else alt.Axis(format=",.2~f")
    enc: dict = {
        "y": alt.Y(f"{categoria}:N", title=ROTULOS.get(categoria, categoria), sort="-x"),
        "x": alt.X(f"sum({valor}):Q", title=ROTULOS.get(valor, valor), axis=eixo),
        "tooltip": [
            alt.Tooltip(f"{categoria}:N", title=ROTULOS.get(categoria, categoria)),
            alt.Tooltip(f"sum({valor}):Q", title=ROTULOS.get(valor, valor)),
        ],
    }
    if cor:
        enc["color"] = alt.Color(f"{cor}:N", title=ROTULOS.get(cor, cor))
    return _base(df, titulo).mark_bar().encode(**enc).properties(height=alt.Step(28))


def linhas_por_dia(
    df: pd.DataFrame, colunas: dict[str, str], titulo: str, eixo_y: str, formato: str = ",.1f"
) -> alt.Chart:
    """Several daily series (column → legend label) as lines with points."""
    longo = df.melt(id_vars=["dia"], value_vars=list(colunas), var_name="serie", value_name="v")
    longo["serie"] = longo["serie"].map(colunas)
    return (
        _base(longo.dropna(subset=["v"]), titulo)
        .mark_line(point=True)
        .encode(
            x=DIA_X,
            y=alt.Y(
                "v:Q",
                title=eixo_y,
                axis=CONTAGEM if formato == ",d" else alt.Axis(format=formato),
            ),
            color=alt.Color("serie:N", title="Série"),
            tooltip=[
                alt.Tooltip("dia:T", timeUnit="utcyearmonthdate", title="Dia"),
                alt.Tooltip("serie:N", title="Série"),
                alt.Tooltip("v:Q", title=eixo_y, format=formato),
            ],
        )
    )


#: CCEE vocabulary and units for axis/legend titles.
ROTULOS: dict[str, str] = {
    "evento_notificacao": "Evento de notificação",
    "ambiente_contratacao": "Ambiente de contratação",
    "submercado": "Submercado",
    "mes_referencia": "Mês de referência",
    "eventos": "Eventos (quantidade)",
    "contratos": "Contratos (quantidade)",
    "ajustes": "Ajustes (quantidade)",
    "montante_mwh": "Montante (MWh)",
    "montante_mwh_vigente": "Montante vigente (MWh)",
    "pedidos": "Pedidos rejeitados (quantidade)",
    "motivo": "Motivo da quarentena",
    "status_http": "Status HTTP respondido",
    "transicao": "Transição (de → para)",
    "horas_mediana": "Tempo mediano entre passos (horas)",
}
