import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Volume de eventos — ccee-webhook")

with app.setup:
    # Volume de eventos per entity and event code over time (table notificacoes; every
    # entity, known or not). Script, printing the headline figures:
    # `python notebooks/event_volumes.py -- --warehouse PATH`.
    import marimo as mo

    import notebooks.report_kit as kit
    from notebooks.report_kit import charts, ui, volumes


@app.cell(hide_code=True)
def _():
    warehouse_path = kit.resolve_warehouse_path(mo.cli_args().get("warehouse"))
    return (warehouse_path,)


@app.cell(hide_code=True)
def _(warehouse_path):
    wh = kit.open_warehouse(warehouse_path)
    tem_dados = wh.has_rows(volumes.TABELA) and wh.has("metadados")
    inicio, fim = volumes.limites(wh) if tem_dados else (None, None)
    return fim, inicio, tem_dados, wh


@app.cell(hide_code=True)
def _(fim, inicio, tem_dados):
    periodo_ui = (
        mo.ui.date_range(start=inicio, stop=fim, value=(inicio, fim), label="Período")
        if tem_dados
        else None
    )
    periodo_ui
    return (periodo_ui,)


@app.cell(hide_code=True)
def _(periodo_ui, tem_dados, wh):
    periodo = kit.Periodo(*periodo_ui.value) if periodo_ui is not None else kit.Periodo()
    resumo = volumes.resumo(wh, periodo) if tem_dados else None
    _cab = "# Volume de eventos\n\nNotificações recebidas da CCEE, por entidade e evento"
    if resumo is None:
        manchete = f"Volume de eventos: sem dados ainda ({wh.error or wh.path})"
        _saida = mo.vstack(
            [mo.md(_cab), mo.Html(ui.sem_dados("Nenhuma notificação", wh.error or wh.path))]
        )
    else:
        manchete = (
            f"Volume de eventos {periodo.inicio:%d/%m/%Y} a {periodo.fim:%d/%m/%Y}: "
            f"{ui.fmt_int(resumo['notificacoes'])} notificações "
            f"({ui.fmt_int(resumo['entregas'])} entregas) de {ui.fmt_int(resumo['entidades'])} "
            f"entidades e {ui.fmt_int(resumo['codigos'])} eventos"
        )
        _saida = mo.vstack(
            [
                mo.md(
                    f"{_cab}\n\nPeríodo: **{periodo.inicio:%d/%m/%Y} a {periodo.fim:%d/%m/%Y}** "
                    "(dia de origem do evento, America/Sao_Paulo; sem data de origem legível, "
                    "vale o primeiro recebimento). Cada transactionId conta uma vez; "
                    "entregas inclui as repetições."
                ),
                mo.Html(
                    ui.cartoes(
                        [
                            ui.Indicador("Notificações", ui.fmt_int(resumo["notificacoes"])),
                            ui.Indicador(
                                "Entregas recebidas",
                                ui.fmt_int(resumo["entregas"]),
                                "inclui retentativas da CCEE",
                            ),
                            ui.Indicador("Entidades", ui.fmt_int(resumo["entidades"])),
                            ui.Indicador("Eventos distintos", ui.fmt_int(resumo["codigos"])),
                        ]
                    )
                ),
            ]
        )
    _saida
    return manchete, periodo, resumo


@app.cell(hide_code=True)
def _(periodo, resumo, wh):
    por_entidade = volumes.no_tempo(wh, periodo, "entidade") if resumo else None
    _b = kit.balde(periodo)
    (
        charts.barras_no_tempo(
            por_entidade,
            f"Notificações por {_b.nome} e entidade",
            _b.nome,
            legenda="Entidade",
            eixo_y="Notificações (quantidade)",
        )
        if por_entidade is not None and por_entidade.height
        else None
    )
    return (por_entidade,)


@app.cell(hide_code=True)
def _(periodo, resumo, wh):
    por_codigo_tempo = volumes.no_tempo(wh, periodo, "evento_notificacao") if resumo else None
    _b = kit.balde(periodo)
    (
        charts.barras_no_tempo(
            por_codigo_tempo,
            f"Notificações por {_b.nome} e evento de notificação",
            _b.nome,
            eixo_y="Notificações (quantidade)",
        )
        if por_codigo_tempo is not None and por_codigo_tempo.height
        else None
    )
    return (por_codigo_tempo,)


@app.cell(hide_code=True)
def _(periodo, resumo, wh):
    por_codigo = volumes.por_codigo(wh, periodo) if resumo else None
    mo.md("## Por entidade e evento") if por_codigo is not None else None
    return (por_codigo,)


@app.cell(hide_code=True)
def _(por_codigo):
    (
        mo.Html(ui.tabela(por_codigo, {"entregas": "Entregas recebidas"}))
        if por_codigo is not None and por_codigo.height
        else None
    )
    return


@app.cell(hide_code=True)
def _(manchete):
    # Run as a script, the page prints its headline (or its "no data" line).
    print(manchete) if mo.app_meta().mode == "script" else None
    return


if __name__ == "__main__":
    app.run()
