import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Saúde da entrega — ccee-webhook")

with app.setup:
    # Saúde da entrega: what the person on call reads first. Run as a dashboard with
    # `marimo run notebooks/delivery_health.py`, as a script with
    # `python notebooks/delivery_health.py -- --warehouse PATH` (prints the headline
    # figures), or export it with
    # `ccee-webhook report`.
    import datetime as dt
    from zoneinfo import ZoneInfo

    import marimo as mo
    import polars as pl

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
    _sem_notificacoes = plantao.notificacoes == 0
    if not wh.has("sla_entrega"):
        manchete = f"Saúde da entrega: sem dados ainda ({wh.error or wh.path})"
        _corpo = ui.sem_dados("Nenhuma tabela de SLA (sla_entrega)", wh.error or wh.path)
    else:
        manchete = (
            f"Saúde da entrega {periodo.inicio:%d/%m/%Y} a {periodo.fim:%d/%m/%Y}: "
            + (
                "nenhuma notificação no período; "
                if _sem_notificacoes
                else f"{ui.fmt_int(plantao.notificacoes)} notificações, entrega "
                f"{ui.fmt_pct(plantao.taxa_entrega)}, {ui.fmt_int(plantao.expirado)} expiradas, "
                f"perda de dados {ui.fmt_int(plantao.perda_de_dados)}; "
            )
            + f"quarentena {ui.fmt_int(plantao.quarentena)}"
        )

        # Without notifications in the period nothing is "ok": tones stay neutral.
        def _tom(ruim: bool, tom_ruim: str = "alerta") -> str:
            return "neutro" if _sem_notificacoes else (tom_ruim if ruim else "ok")

        _taxa = plantao.taxa_entrega
        _corpo = ui.cartoes(
            [
                ui.Indicador(
                    "Perda de dados",
                    ui.fmt_int(plantao.perda_de_dados),
                    "NOTIFICADO na CCEE e ausente no lago",
                    _tom(plantao.alarme_perda, "critico"),
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
                    _tom(plantao.expirado > 0, "critico"),
                ),
                ui.Indicador(
                    "Aguardando notificação",
                    ui.fmt_int(plantao.aguardando),
                    "CCEE ainda retentando",
                    _tom(plantao.aguardando > 0),
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
                    _tom(plantao.retentativas_vistas > 0),
                ),
                ui.Indicador(
                    "Quarentena",
                    ui.fmt_int(plantao.quarentena),
                    "pedidos rejeitados pelo receptor (dia de recebimento)",
                    "alerta" if plantao.quarentena else ("neutro" if _sem_notificacoes else "ok"),
                ),
            ]
        )
        if _sem_notificacoes:
            _corpo = (
                ui.aviso(
                    "Sem notificações no período",
                    "Nenhuma notificação da CCEE tem data de origem neste período: os "
                    "indicadores abaixo não significam que está tudo bem.",
                    tom="neutro",
                )
                + _corpo
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
    return manchete, plantao


@app.cell(hide_code=True)
def _(atualizar, warehouse_path):
    # Alertas abertos (alerts.jsonl, escrito pelo sensor alerts_sensor do Dagster).
    atualizar
    from notebooks.report_kit.alertas import alertas_abertos

    _abertos = alertas_abertos(warehouse_path)
    mo.vstack(
        [
            mo.md(f"## Alertas abertos: {len(_abertos)}"),
            # static HTML (the exported report drops interactive widgets), human labels
            mo.Html(ui.tabela(pl.DataFrame(_abertos)))
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
        if sla_dia.height and sla_dia["latencia_ccee_p50_s"].drop_nulls().len()
        else mo.Html(ui.sem_dados("Sem resultados de notificação no período", wh.path))
    )
    return


@app.cell(hide_code=True)
def _(sla_dia, wh):
    (
        charts.linhas_por_dia(
            sla_dia,
            {"taxa_entrega": "taxa de entrega"},
            "Taxa de entrega (NOTIFICADO ÷ notificações)",
            "Taxa de entrega (%)",
            formato=".0%",
        )
        if sla_dia.height
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
        if sla_dia.height
        else mo.Html(ui.sem_dados("Sem SLA no período", wh.path))
    )
    return


@app.cell(hide_code=True)
def _(periodo, wh):
    perdidas = entrega.perda_de_dados(wh, periodo)
    _tem_resultados = wh.has_rows("resultados_notificacao")
    mo.md(
        "## Alarme de perda de dados\n\nNotificações que a CCEE diz ter entregue "
        "(NOTIFICADO) e que o lago não tem; horários em America/Sao_Paulo."
        + (
            ""
            if perdidas.height
            else "\n\nNenhuma no período, entre os resultados consultados na CCEE."
            if _tem_resultados
            else "\n\n**Sem resultados de notificação consultados na CCEE: não há como "
            "verificar perda de dados.**"
        )
    )
    return (perdidas,)


@app.cell(hide_code=True)
def _(perdidas):
    mo.Html(ui.tabela(perdidas)) if perdidas.height else None
    return


@app.cell(hide_code=True)
def _(periodo, wh):
    quarentena = entrega.quarentena_por_motivo(wh, periodo)
    rejeicoes = entrega.rejeicoes_no_tempo(wh, periodo)
    mo.md(
        "## Quarentena e rejeições do receptor\n\nPedidos que o receptor recusou, pelo dia "
        "de recebimento (o corpo inválido não tem data de origem)."
    )
    return quarentena, rejeicoes


@app.cell(hide_code=True)
def _(quarentena, wh):
    (
        charts.barras_categoria(
            quarentena, "motivo", "pedidos", "Quarentena por motivo", cor="status_http"
        )
        if quarentena.height
        else mo.md("Nenhum pedido em quarentena no período.")
        if wh.has("quarentena")
        else mo.Html(ui.sem_dados("Nenhuma tabela de quarentena", wh.error or wh.path))
    )
    return


@app.cell(hide_code=True)
def _(periodo, rejeicoes):
    _b = kit.balde(periodo)
    (
        charts.barras_no_tempo(
            rejeicoes,
            f"Rejeições do receptor por {_b.nome} e status HTTP",
            _b.nome,
            legenda="Status HTTP respondido",
            subtitulo=f"pedidos em quarentena por {_b.nome} de recebimento",
            eixo_y="Pedidos rejeitados (quantidade)",
        )
        if rejeicoes.height
        else None
    )
    return


@app.cell(hide_code=True)
def _(periodo, wh):
    expiradas = entrega.expiradas(wh, periodo)
    _texto = (
        "## Notificações expiradas: por quê?\n\nCada notificação que a CCEE dá como "
        "EXPIRADO (24 h sem 201): tentativas **recusadas** pelo receptor (e o motivo, pela "
        "quarentena com o mesmo transactionId), **armazenadas** no lago (o 201 se perdeu) ou "
        "que **nunca chegaram** (e o endereço para onde a CCEE enviava)."
    )
    if expiradas.height:
        expiradas = expiradas.with_columns(
            pl.col("diagnostico").replace_strict(entrega.DIAGNOSTICOS, default=None)
        )
    elif not wh.has_rows("resultados_notificacao"):
        _texto += "\n\nSem dados ainda: nenhum resultado da CCEE foi consultado."
    else:
        _texto += "\n\nNenhuma no período, entre os resultados consultados na CCEE."
    mo.md(_texto)
    return (expiradas,)


@app.cell(hide_code=True)
def _(expiradas):
    mo.Html(ui.tabela(expiradas)) if expiradas.height else None
    return


@app.cell(hide_code=True)
def _(periodo, wh):
    avisos = entrega.entregas_com_avisos(wh, periodo)
    mo.md(
        "## Entregas com avisos\n\nNotificações aceitas (201) que fogem do formato usual "
        "(transactionId que não é UUID, código fora do padrão, metadados ausentes, valores "
        "não textuais…), por código de aviso; o corpo original fica no lago."
        + (
            ""
            if avisos.height
            else "\n\nNenhuma no período."
            if wh.has_rows("notificacoes")
            else "\n\nSem dados ainda: nenhuma notificação no armazém."
        )
    )
    return (avisos,)


@app.cell(hide_code=True)
def _(avisos):
    mo.Html(ui.tabela(avisos)) if avisos.height else None
    return


@app.cell(hide_code=True)
def _(periodo, wh):
    por_evento = entrega.sla_por_evento(wh, periodo)
    mo.md("## Por evento de notificação")
    return (por_evento,)


@app.cell(hide_code=True)
def _(por_evento):
    mo.Html(ui.tabela(por_evento)) if por_evento.height else None
    return


@app.cell(hide_code=True)
def _(manchete):
    # Run as a script, the page prints its headline (or its "no data" line).
    print(manchete) if mo.app_meta().mode == "script" else None
    return


if __name__ == "__main__":
    app.run()
