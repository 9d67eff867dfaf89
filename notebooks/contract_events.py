import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Contratos — ccee-webhook")

with app.setup:
    # Contratos: state (table contratos) and events (table eventos_contrato). Script:
    # `python notebooks/contract_events.py -- --warehouse PATH` prints the headline figures;
    # app: `marimo run notebooks/contract_events.py`.
    import marimo as mo

    import notebooks.report_kit as kit
    from notebooks.report_kit import charts, contratos, ui


@app.cell(hide_code=True)
def _():
    warehouse_path = kit.resolve_warehouse_path(mo.cli_args().get("warehouse"))
    return (warehouse_path,)


@app.cell(hide_code=True)
def _(warehouse_path):
    wh = kit.open_warehouse(warehouse_path)
    tem_dados = wh.has_rows(contratos.TABELA)
    inicio, fim = contratos.limites_periodo(wh)
    codigos = contratos.codigos_evento(wh)
    return codigos, fim, inicio, tem_dados, wh


@app.cell(hide_code=True)
def _(codigos, fim, inicio, tem_dados):
    periodo_ui = (
        mo.ui.date_range(start=inicio, stop=fim, value=(inicio, fim), label="Período")
        if tem_dados
        else None
    )
    eventos_ui = mo.ui.multiselect(options=codigos, label="Evento de notificação")
    mo.hstack([periodo_ui, eventos_ui], justify="start") if tem_dados else None
    return eventos_ui, periodo_ui


@app.cell(hide_code=True)
def _(eventos_ui, periodo_ui, tem_dados, wh):
    periodo = kit.Periodo(*periodo_ui.value) if periodo_ui is not None else kit.Periodo()
    eventos = list(eventos_ui.value) or None
    resumo = contratos.resumo(wh, periodo, eventos) if tem_dados else None
    situacao = contratos.situacao(wh, periodo) if tem_dados else None
    _cab = "# Contratos\n\nEstado atual e eventos `CONTRATO.*` recebidos da CCEE"
    if resumo is None or situacao is None:
        manchete = f"Contratos: sem dados ainda ({wh.error or wh.path})"
        _saida = mo.vstack(
            [mo.md(_cab), mo.Html(ui.sem_dados("Nenhum evento de contrato", wh.error or wh.path))]
        )
    else:
        manchete = (
            f"Contratos {periodo.inicio:%d/%m/%Y} a {periodo.fim:%d/%m/%Y}: "
            f"{ui.fmt_int(situacao['contratos'])} contratos, "
            f"{ui.fmt_int(situacao['encerrados'])} encerrados, "
            f"{ui.fmt_int(situacao['com_anomalia'])} com anomalia no ciclo de vida; "
            f"{ui.fmt_int(resumo['eventos'])} eventos"
        )
        _filtro = (
            f"Período: **{periodo.inicio:%d/%m/%Y} a {periodo.fim:%d/%m/%Y}** (dia de origem do "
            f"evento, America/Sao_Paulo) · eventos: "
            f"**{', '.join(eventos) if eventos else 'todos'}**. Contratos contados: os que "
            "tiveram algum evento no período; o estado é o do evento mais recente pela data "
            "de origem (DATA_ORIGEM_EVENTO)."
        )
        _saida = mo.vstack(
            [
                mo.md(f"{_cab}\n\n{_filtro}"),
                mo.Html(
                    ui.cartoes(
                        [
                            ui.Indicador(
                                "Contratos",
                                ui.fmt_int(situacao["contratos"]),
                                "com eventos no período",
                            ),
                            ui.Indicador(
                                "Encerrados",
                                ui.fmt_int(situacao["encerrados"]),
                                "finalização ou cancelamento validado",
                            ),
                            ui.Indicador(
                                "Com anomalia",
                                ui.fmt_int(situacao["com_anomalia"]),
                                "sequência fora do ciclo de vida",
                                "alerta" if situacao["com_anomalia"] else "ok",
                            ),
                            ui.Indicador("Eventos", ui.fmt_int(resumo["eventos"])),
                            ui.Indicador(
                                "Erros de conversão",
                                ui.fmt_int(resumo["com_erro_conversao"]),
                                "valores guardados brutos em erros_conversao",
                                "alerta" if resumo["com_erro_conversao"] else "ok",
                            ),
                        ]
                    )
                ),
            ]
        )
    _saida
    return eventos, manchete, periodo, resumo


@app.cell(hide_code=True)
def _(periodo, resumo, wh):
    por_estado = contratos.por_estado(wh, periodo) if resumo else None
    mo.md("## Contratos por estado atual") if por_estado is not None else None
    return (por_estado,)


@app.cell(hide_code=True)
def _(por_estado):
    (
        charts.barras_categoria(
            por_estado.rename({"estado": "estado_atual"}),
            "estado_atual",
            "contratos",
            "Contratos por estado atual",
            subtitulo="estado = evento mais recente pela data de origem",
            ordem=None,
        )
        if por_estado is not None and por_estado.height
        else None
    )
    return


@app.cell(hide_code=True)
def _(periodo, resumo, wh):
    incomuns = contratos.anomalias(wh, periodo) if resumo else None
    (
        mo.vstack(
            [
                mo.md(
                    "## Anomalias do ciclo de vida\n\nContratos cuja sequência observada (na "
                    "ordem da data de origem) tem uma transição que o ciclo de vida não prevê, "
                    "ou um evento depois de um estado terminal (FINALIZACAO_VALIDADA, "
                    "CANCELAMENTO_VALIDADO). Um contrato visto pela primeira vez no meio do "
                    "ciclo não é anomalia. Horários em America/Sao_Paulo."
                ),
                mo.Html(ui.tabela(incomuns))
                if incomuns.height
                else mo.md("Nenhum contrato com anomalia entre os contratos do período."),
            ]
        )
        if incomuns is not None
        else None
    )
    return (incomuns,)


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    por_tempo = contratos.volume_no_tempo(wh, periodo, eventos) if resumo else None
    _b = kit.balde(periodo)
    (
        charts.barras_no_tempo(
            por_tempo,
            f"Eventos de contrato por {_b.nome} e evento de notificação",
            _b.nome,
            subtitulo=f"quantidade por {_b.nome} da data de origem",
        )
        if por_tempo is not None and por_tempo.height
        else None
    )
    return (por_tempo,)


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    por_ambiente = contratos.volume_por_ambiente(wh, periodo, eventos) if resumo else None
    (
        charts.barras_categoria(
            por_ambiente,
            "ambiente_contratacao",
            "eventos",
            "Eventos por ambiente de contratação (ACL / ACR)",
            cor="evento_notificacao",
        )
        if por_ambiente is not None and por_ambiente.height
        else None
    )
    return (por_ambiente,)


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    transicoes = contratos.transicoes(wh, periodo, eventos) if resumo else None
    (
        mo.md(
            "## Passos do ciclo de vida\n\nPassos consecutivos de cada contrato (ordem "
            "da data de origem do evento) e o tempo entre eles, em horas."
        )
        if transicoes is not None and transicoes.height
        else None
    )
    return (transicoes,)


@app.cell(hide_code=True)
def _(transicoes):
    (
        charts.barras_categoria(
            transicoes.with_columns(transicao=transicoes["de"] + " → " + transicoes["para"]),
            "transicao",
            "horas_mediana",
            "Tempo mediano entre passos do ciclo de vida (horas)",
            contagem=False,
        )
        if transicoes is not None and transicoes.height
        else None
    )
    return


@app.cell(hide_code=True)
def _(transicoes):
    mo.Html(ui.tabela(transicoes)) if transicoes is not None and transicoes.height else None
    return


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    top = contratos.top_contratos(wh, periodo, eventos, n=10) if resumo else None
    (
        mo.vstack(
            [
                mo.md("## Contratos com mais eventos (top 10)\n\nHorários em America/Sao_Paulo."),
                mo.Html(ui.tabela(top)),
            ]
        )
        if top is not None and top.height
        else None
    )
    return (top,)


@app.cell(hide_code=True)
def _(manchete):
    # Run as a script, the page prints its headline (or its "no data" line).
    print(manchete) if mo.app_meta().mode == "script" else None
    return


if __name__ == "__main__":
    app.run()
