"""Altair charts with Portuguese labels, units in titles, pt-BR number format and São Paulo
time buckets on the x axis.

Time buckets arrive already labelled by SQL (`rotulo`, ordered by `inicio`), so a browser in
any zone shows the São Paulo hour/day/week the SQL computed, and an idle bucket is a zero
rather than a gap.
"""

from __future__ import annotations

import altair as alt
import polars as pl

#: Vega's number locale for pt-BR: 1.234,5
PT_BR = {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["R$ ", ""]}
#: Axis for counts: whole numbers only.
CONTAGEM = alt.Axis(format=",d", tickMinStep=1)
LARGURA = 640
#: Legends long enough for CCEE's event codes (CONTRATO.FINALIZACAO_VALIDADA).
LEGENDA = alt.Legend(labelLimit=320)


def _x_tempo(nome_balde: str) -> alt.X:
    return alt.X(
        "rotulo:O",
        sort=alt.EncodingSortField(field="inicio", op="min"),
        title=f"{nome_balde.capitalize()} (America/Sao_Paulo)",
        axis=alt.Axis(labelAngle=-40, labelOverlap=True),
    )


def _base(df: pl.DataFrame, titulo: str, subtitulo: str | None = None) -> alt.Chart:
    title = alt.TitleParams(titulo, subtitle=subtitulo or "", anchor="start")
    return alt.Chart(df).properties(title=title, width=LARGURA, height=260)


def com_locale(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Attach the pt-BR number locale (vega-embed reads it from usermeta)."""
    chart.usermeta = {"embedOptions": {"formatLocale": PT_BR}}
    return chart


def barras_no_tempo(
    df: pl.DataFrame,
    titulo: str,
    nome_balde: str,
    legenda: str = "Evento de notificação",
    eixo_y: str = "Eventos (quantidade)",
    subtitulo: str | None = None,
) -> alt.TopLevelMixin:
    """Stacked bars per time bucket: columns inicio, rotulo, grupo, eventos."""
    chart = (
        _base(df, titulo, subtitulo or f"quantidade por {nome_balde}")
        .mark_bar()
        .encode(
            x=_x_tempo(nome_balde),
            y=alt.Y("sum(eventos):Q", title=eixo_y, axis=CONTAGEM),
            color=alt.Color("grupo:N", title=legenda, legend=LEGENDA),
            tooltip=[
                alt.Tooltip("rotulo:O", title=nome_balde.capitalize()),
                alt.Tooltip("grupo:N", title=legenda),
                alt.Tooltip("sum(eventos):Q", title=eixo_y, format=",d"),
            ],
        )
    )
    return com_locale(chart)


def barras_categoria(
    df: pl.DataFrame,
    categoria: str,
    valor: str,
    titulo: str,
    cor: str | None = None,
    contagem: bool = True,
    subtitulo: str | None = None,
    ordem: str | None = "-x",
) -> alt.TopLevelMixin:
    """Horizontal bars of a measure per category, optionally stacked by a second category;
    `ordem` is Vega-Lite's sort ("-x": largest first; "ascending": by category, e.g. months;
    None: as given)."""
    fmt = ",d" if contagem else ",.1f"
    # Amounts (MWh) have wide labels ("340.000"): fewer ticks, or they run into each other.
    eixo = CONTAGEM if contagem else alt.Axis(format=",.0f", tickCount=8)
    enc: dict = {
        "y": alt.Y(
            f"{categoria}:N",
            title=ROTULOS.get(categoria, categoria),
            sort=ordem,
            axis=alt.Axis(labelLimit=360),
        ),
        "x": alt.X(f"sum({valor}):Q", title=ROTULOS.get(valor, valor), axis=eixo),
        "tooltip": [
            alt.Tooltip(f"{categoria}:N", title=ROTULOS.get(categoria, categoria)),
            alt.Tooltip(f"sum({valor}):Q", title=ROTULOS.get(valor, valor), format=fmt),
        ],
    }
    if cor:
        enc["color"] = alt.Color(f"{cor}:N", title=ROTULOS.get(cor, cor), legend=LEGENDA)
        enc["tooltip"].insert(1, alt.Tooltip(f"{cor}:N", title=ROTULOS.get(cor, cor)))
    chart = _base(df, titulo, subtitulo).mark_bar().encode(**enc).properties(height=alt.Step(28))
    return com_locale(chart)


def linhas_por_dia(
    df: pl.DataFrame, colunas: dict[str, str], titulo: str, eixo_y: str, formato: str = ",.1f"
) -> alt.TopLevelMixin:
    """Several daily series (column → legend label) as lines with points; `dia` is a DATE."""
    longo = (
        df.select(["dia", *colunas])
        .unpivot(index="dia", on=list(colunas), variable_name="serie", value_name="v")
        .with_columns(
            pl.col("serie").replace_strict(colunas),
            pl.col("dia").dt.strftime("%d/%m/%Y").alias("rotulo"),
            pl.col("dia").alias("inicio"),
            pl.col("v").cast(pl.Float64),
        )
        .drop_nulls("v")
        .drop("dia")
    )
    chart = (
        _base(longo, titulo)
        .mark_line(point=True)
        .encode(
            x=_x_tempo("dia"),
            y=alt.Y(
                "v:Q",
                title=eixo_y,
                axis=CONTAGEM if formato == ",d" else alt.Axis(format=formato),
            ),
            color=alt.Color("serie:N", title="Série"),
            tooltip=[
                alt.Tooltip("rotulo:O", title="Dia"),
                alt.Tooltip("serie:N", title="Série"),
                alt.Tooltip("v:Q", title=eixo_y, format=formato),
            ],
        )
    )
    return com_locale(chart)


#: Human labels (CCEE vocabulary and units) for columns, axes and legends.
ROTULOS: dict[str, str] = {
    "evento_notificacao": "Evento de notificação",
    "endereco_destino": "Endereço de destino",
    "diagnostico": "Diagnóstico",
    "tentativas_recusadas": "Tentativas recusadas",
    "motivos": "Motivos",
    "ultima_recusa_sp": "Última recusa",
    "aviso": "Aviso",
    "aberto_em": "Aberto em",
    "regra": "Regra",
    "contagem": "Quantidade",
    "titulo": "O que houve",
    "primeiro_transaction_id": "Primeiro transactionId",
    "ultimo_transaction_id": "Último transactionId",
    "consulta": "Consulta",
    "ultima_sp": "Última entrega",
    "evento": "Evento",
    "entidade": "Entidade",
    "ambiente_contratacao": "Ambiente de contratação",
    "submercado": "Submercado",
    "mes_referencia": "Mês de referência",
    "eventos": "Eventos (quantidade)",
    "contratos": "Contratos (quantidade)",
    "ajustes": "Ajustes (quantidade)",
    "declaracoes": "Declarações (quantidade)",
    "montante_mwh": "Montante (MWh)",
    "montante_mwh_vigente": "Montante vigente (MWh)",
    "pedidos": "Pedidos rejeitados (quantidade)",
    "motivo": "Motivo",
    "status_http": "Status HTTP respondido",
    "transicao": "Transição (de → para)",
    "horas_mediana": "Tempo mediano entre passos (horas)",
    "horas_p95": "Tempo p95 entre passos (horas)",
    "de": "De",
    "para": "Para",
    "id_contrato": "Contrato",
    "perfil": "Perfil",
    "estado_atual": "Estado atual",
    "anomalia": "Anomalia",
    "sequencia": "Sequência observada",
    "primeiro_evento_sp": "Primeiro evento",
    "ultimo_evento_sp": "Último evento",
    "declarado_em_sp": "Declarado em",
    "evento_vigente": "Evento vigente",
    "transaction_id": "transactionId",
    "situacao": "Situação na CCEE",
    "data_origem_sp": "Origem",
    "data_notificacao_sp": "Notificação CCEE",
    "ultimo_sp": "Último pedido",
    "notificacoes": "Notificações",
    "notificado": "Notificadas",
    "aguardando": "Aguardando",
    "expirado": "Expiradas",
    "outros": "Outras situações",
    "taxa_entrega": "Taxa de entrega",
    "retentativas_vistas": "Retentativas vistas",
    "notificado_ausente_no_lago": "Notificadas ausentes no lago",
    "no_lago_sem_resultado": "No lago sem resultado",
    "pior_p95_ccee_s": "Pior latência p95 da CCEE",
    "latencia_ccee_p50_s": "Latência CCEE p50",
    "latencia_ccee_p95_s": "Latência CCEE p95",
    "horas_mediana_fmt": "Tempo mediano",
    "dia": "Dia",
    "notificado_em_sp": "Notificada em",
    "entregas": "Entregas recebidas",
    "substituidas": "Declarações substituídas",
    "estado": "Estado",
    "com_anomalia": "Com anomalia",
}
