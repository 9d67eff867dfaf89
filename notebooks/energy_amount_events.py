import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Eventos de montante de energia — ccee-webhook")

with app.setup:
    # Eventos de montante de energia (table eventos_montante_energia). Script:
    # `python notebooks/energy_amount_events.py -- --warehouse PATH`.
    import marimo as mo
    import notebooks.report_kit as kit
    from notebooks.report_kit import charts, montante, ui


@app.cell(hide_code=True)
def _():
    warehouse_path = kit.resolve_warehouse_path(mo.cli_args().get("warehouse"))
    return (warehouse_path,)


@app.cell(hide_code=True)
def _(warehouse_path):
    wh = kit.open_warehouse(warehouse_path)
    tem_dados = wh.has_rows(montante.TABELA)
    codigos = montante.codigos_evento(wh)
    return codigos, tem_dados, wh


@app.cell(hide_code=True)
def _(codigos, tem_dados):
    eventos_ui = mo.ui.multiselect(options=codigos, label="Evento de notificação")
    eventos_ui if tem_dados else None
    return (eventos_ui,)


@app.cell(hide_code=True)
def _(eventos_ui, tem_dados, wh):
    eventos = list(eventos_ui.value) or None
    periodo = kit.Periodo()
    resumo = montante.resumo(wh, periodo, eventos) if tem_dados else None
    _cab = "# Eventos de montante de energia\n\nNotificações `MONTANTE_ENERGIA.*` recebidas da CCEE"
    if resumo is None:
        _saida = mo.vstack(
            [
                mo.md(_cab),
                mo.Html(ui.sem_dados("Nenhum evento de montante de energia", wh.error or wh.path)),
            ]
        )
    else:
        _saida = mo.vstack(
            [
                mo.md(f"{_cab} · eventos: **{', '.join(eventos) if eventos else 'todos'}**"),
                mo.Html(
                    ui.cartoes(
                        [
                            ui.Indicador("Eventos", ui.fmt_int(resumo["eventos"])),
                            ui.Indicador("Contratos", ui.fmt_int(resumo["contratos"])),
                            ui.Indicador(
                                "Meses de referência", ui.fmt_int(resumo["meses_referencia"])
                            ),
                            ui.Indicador(
                                "Montante declarado",
                                f"{ui.fmt_num(resumo['montante_mwh_total'])} MWh",
                                "soma de todos os eventos",
                            ),
                        ]
                    )
                ),
            ]
        )
    _saida
    return eventos, periodo, resumo


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    por_dia = montante.volume_por_dia(wh, periodo, eventos) if resumo else None
    (
        charts.barras_por_dia(por_dia, "Eventos de montante de energia por dia")
        if por_dia is not None and len(por_dia)
        else None
    )
    return (por_dia,)


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    por_submercado = montante.volume_por_submercado(wh, periodo, eventos) if resumo else None
    (
        charts.barras_categoria(
            por_submercado,
            "submercado",
            "montante_mwh",
            "Montante por submercado (MWh, soma dos eventos)",
            contagem=False,
        )
        if por_submercado is not None and len(por_submercado)
        else None
    )
    return (por_submercado,)


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    ajustes = montante.ajustes_por_mes(wh, periodo, eventos) if resumo else None
    (
        mo.md(
            "## Ajustes por mês de referência\n\nAjuste = evento para um par (contrato, mês de "
            "referência) depois do primeiro; montante vigente = o último declarado por contrato."
        )
        if resumo
        else None
    )
    return (ajustes,)


@app.cell(hide_code=True)
def _(ajustes):
    (
        charts.barras_categoria(
            ajustes.fillna({"mes_referencia": "não informado"}),
            "mes_referencia",
            "ajustes",
            "Ajustes por mês de referência",
        )
        if ajustes is not None and len(ajustes)
        else None
    )
    return


@app.cell(hide_code=True)
def _(ajustes):
    ajustes if ajustes is not None and len(ajustes) else None
    return


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    tempos = montante.tempo_origem_notificacao(wh, periodo, eventos) if resumo else None
    (
        mo.md(
            "## Tempo da origem à notificação\n\nSegundos entre a data de origem do evento e "
            "(a) o primeiro recebimento no nosso receptor, (b) a dataNotificacao informada "
            "pela CCEE (quando os resultados de notificação já foram consultados)."
        )
        if resumo
        else None
    )
    return (tempos,)


@app.cell(hide_code=True)
def _(tempos):
    (
        charts.linhas_por_dia(
            tempos,
            {
                "recebimento_p50_s": "recebimento p50",
                "recebimento_p95_s": "recebimento p95",
                "notificacao_ccee_p50_s": "notificação CCEE p50",
                "notificacao_ccee_p95_s": "notificação CCEE p95",
            },
            "Tempo da origem do evento à notificação (segundos)",
            "Tempo (segundos)",
        )
        if tempos is not None and len(tempos)
        else None
    )
    return


if __name__ == "__main__":
    app.run()
