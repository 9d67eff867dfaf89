import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Saúde da entrega — ccee-webhook")

with app.setup:
    # Saúde da entrega: what the person on call reads first. Run as a dashboard with
    # `marimo run notebooks/delivery_health.py`, as a script with
    # `python notebooks/delivery_health.py -- --warehouse PATH`, or export it with
    # `ccee-webhook report`.
    import datetime as dt
    from zoneinfo import ZoneInfo

    import marimo as mo
    import notebooks.report_kit as kit
    from notebooks.report_kit import charts, entrega, ui


@app.cell(hide_code=True)
def _():
    warehouse_path = kit.resolve_warehouse_path(mo.cli_args().get("warehouse"))
    return (warehouse_path,)


@app.cell(hide_code=True)
def _():
    # Re-reads the warehouse on a timer when served as a dashboard (no effect in exports).
    atualizar = mo.ui.refresh(options=["1m", "5m", "15m"], default_interval="5m")
    atualizar
    return (atualizar,)


@app.cell(hide_code=True)
def _(atualizar, warehouse_path):
    atualizar
    wh = kit.open_warehouse(warehouse_path)
    ultimo = entrega.ultimo_dia(wh)
    return ultimo, wh


@app.cell(hide_code=True)
def _(ultimo):
    _fim = ultimo or dt.date.today()
    periodo_ui = mo.ui.date_range(
        start=_fim - dt.timedelta(days=365),
        stop=_fim,
        value=(_fim - dt.timedelta(days=6), _fim),
        label="Período (dias de America/Sao_Paulo)",
    )
    periodo_ui
    return (periodo_ui,)


@app.cell(hide_code=True)
def _(periodo_ui):
    periodo = kit.Periodo(*periodo_ui.value)
    return (periodo,)


@app.cell(hide_code=True)
def _(periodo, ultimo, wh):
    plantao = entrega.plantao(wh, periodo)
    _cab = (
        f"# Saúde da entrega\n\nPeríodo: **{periodo.inicio:%d/%m/%Y} a {periodo.fim:%d/%m/%Y}** "
        f"(America/Sao_Paulo) · armazém `{wh.path}`"
    )
    if not wh.has("sla_entrega"):
        _corpo = ui.sem_dados("Nenhuma tabela de SLA (sla_entrega)", wh.error or wh.path)
    else:
        _taxa = plantao.taxa_entrega
        _corpo = ui.cartoes(
            [
                ui.Indicador(
                    "Perda de dados",
                    ui.fmt_int(plantao.perda_de_dados),
                    "NOTIFICADO na CCEE e ausente no lago",
                    "critico" if plantao.alarme_perda else "ok",
                ),
                ui.Indicador(
                    "Taxa de entrega",
                    ui.fmt_pct(_taxa),
                    f"{ui.fmt_int(plantao.notificado)} de {ui.fmt_int(plantao.notificacoes)} "
                    "notificações",
                    "neutro" if _taxa is None else ("ok" if _taxa >= 0.99 else "alerta"),
                ),
                ui.Indicador(
                    "Expiradas",
                    ui.fmt_int(plantao.expirado),
                    "sem 201 em 24 h de retentativas",
                    "critico" if plantao.expirado else "ok",
                ),
                ui.Indicador(
                    "Aguardando notificação",
                    ui.fmt_int(plantao.aguardando),
                    "CCEE ainda retentando",
                    "alerta" if plantao.aguardando else "ok",
                ),
                ui.Indicador(
                    "Latência CCEE p50 / p95",
                    f"{ui.fmt_seg(plantao.latencia_ccee_p50_s)} / "
                    f"{ui.fmt_seg(plantao.latencia_ccee_p95_s)}",
                    "dataNotificacao − dataOrigem",
                ),
                ui.Indicador(
                    "Retentativas vistas",
                    ui.fmt_int(plantao.retentativas_vistas),
                    "entregas repetidas recebidas",
                    "alerta" if plantao.retentativas_vistas else "ok",
                ),
                ui.Indicador(
                    "Quarentena",
                    ui.fmt_int(plantao.quarentena),
                    "pedidos rejeitados pelo receptor",
                    "alerta" if plantao.quarentena else "ok",
                ),
            ]
        )
        _hoje = dt.datetime.now(ZoneInfo(kit.TZ)).date()
        if ultimo is not None and (_hoje - ultimo).days > 1:
            _corpo = (
                ui.aviso(
                    "Dados desatualizados",
                    f"O SLA mais recente é de {ultimo:%d/%m/%Y}; hoje é {_hoje:%d/%m/%Y} "
                    "(America/Sao_Paulo). Verifique se o Dagster está materializando.",
                )
                + _corpo
            )
        if plantao.alarme_perda:
            _corpo = (
                ui.aviso(
                    "ALARME: perda de dados",
                    f"{plantao.perda_de_dados} notificação(ões) constam como NOTIFICADO na CCEE "
                    "mas não estão no lago. Veja a lista abaixo e verifique o receptor.",
                    tom="critico",
                )
                + _corpo
            )
    mo.vstack([mo.md(_cab), mo.Html(_corpo)])
    return (plantao,)


@app.cell(hide_code=True)
def _(atualizar, warehouse_path):
    # Alertas abertos (alerts.jsonl, escrito pelo sensor alerts_sensor do Dagster).
    atualizar
    from notebooks.report_kit.alertas import alertas_abertos

    _abertos = alertas_abertos(warehouse_path)
    mo.vstack(
        [
            mo.md(f"## Alertas abertos: {len(_abertos)}"),
            mo.ui.table(_abertos, selection=None)
            if _abertos
            else mo.md("Nenhum alerta aberto (`ccee-webhook alerts` lista os recentes)."),
        ]
    )
    return


@app.cell(hide_code=True)
def _(periodo, wh):
    sla_dia = entrega.sla_por_dia(wh, periodo)
    mo.md("## SLA ao longo do tempo")
    return (sla_dia,)


@app.cell(hide_code=True)
def _(sla_dia, wh):
    (
        charts.linhas_por_dia(
            sla_dia,
            {"latencia_ccee_p50_s": "p50", "latencia_ccee_p95_s": "p95"},
            "Latência da CCEE (dataNotificacao − dataOrigem)",
            "Latência (segundos)",
        )
        if len(sla_dia) and sla_dia["latencia_ccee_p50_s"].notna().any()
        else mo.Html(ui.sem_dados("Sem resultados de notificação no período", wh.path))
    )
    return


@app.cell(hide_code=True)
def _(sla_dia, wh):
    (
        charts.linhas_por_dia(
            sla_dia.assign(taxa_entrega=sla_dia["taxa_entrega"].astype(float)),
            {"taxa_entrega": "taxa de entrega"},
            "Taxa de entrega (NOTIFICADO ÷ notificações)",
            "Taxa de entrega (%)",
            formato=".0%",
        )
        if len(sla_dia)
        else mo.Html(ui.sem_dados("Sem SLA no período", wh.path))
    )
    return


@app.cell(hide_code=True)
def _(sla_dia, wh):
    (
        charts.linhas_por_dia(
            sla_dia,
            {
                "expirado": "expiradas",
                "aguardando": "aguardando notificação",
                "retentativas_vistas": "retentativas vistas",
                "notificado_ausente_no_lago": "NOTIFICADO ausente no lago",
            },
            "Expiradas, pendentes, retentativas e perdas por dia",
            "Notificações (quantidade)",
            formato=",d",
        )
        if len(sla_dia)
        else mo.Html(ui.sem_dados("Sem SLA no período", wh.path))
    )
    return


@app.cell(hide_code=True)
def _(periodo, wh):
    perdidas = entrega.perda_de_dados(wh, periodo)
    mo.md(
        "## Alarme de perda de dados\n\nNotificações que a CCEE diz ter entregue "
        "(NOTIFICADO) e que o lago não tem; horários em America/Sao_Paulo."
        + ("" if len(perdidas) else "\n\nNenhuma no período. ✅")
    )
    return (perdidas,)


@app.cell(hide_code=True)
def _(perdidas):
    perdidas if len(perdidas) else None
    return


@app.cell(hide_code=True)
def _(periodo, wh):
    quarentena = entrega.quarentena_por_motivo(wh, periodo)
    rejeicoes = entrega.rejeicoes_por_dia(wh, periodo)
    mo.md("## Quarentena e rejeições do receptor")
    return quarentena, rejeicoes


@app.cell(hide_code=True)
def _(quarentena, wh):
    (
        charts.barras_categoria(
            quarentena, "motivo", "pedidos", "Quarentena por motivo", cor="status_http"
        )
        if len(quarentena)
        else mo.Html(ui.sem_dados("Nenhum pedido em quarentena no período", wh.path))
    )
    return


@app.cell(hide_code=True)
def _(rejeicoes):
    (
        charts.barras_por_dia(
            rejeicoes.rename(columns={"pedidos": "eventos"}),
            "Rejeições do receptor por dia e status HTTP",
            cor="status_http",
            subtitulo="pedidos em quarentena por dia de recebimento",
            eixo_y="Pedidos rejeitados (quantidade)",
        )
        if len(rejeicoes)
        else None
    )
    return


@app.cell(hide_code=True)
def _(periodo, wh):
    por_evento = entrega.sla_por_evento(wh, periodo)
    mo.md("## Por evento de notificação")
    return (por_evento,)


@app.cell(hide_code=True)
def _(por_evento):
    por_evento if len(por_evento) else None
    return


if __name__ == "__main__":
    app.run()
