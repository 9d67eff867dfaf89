import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Eventos de contrato — ccee-webhook")

with app.setup:
    # Eventos de contrato (table eventos_contrato). Script: `python notebooks/contract_events.py
    # -- --warehouse PATH`; app: `marimo run notebooks/contract_events.py`.
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
    _cab = "# Eventos de contrato\n\nNotificações `CONTRATO.*` recebidas da CCEE"
    if resumo is None:
        _saida = mo.vstack(
            [mo.md(_cab), mo.Html(ui.sem_dados("Nenhum evento de contrato", wh.error or wh.path))]
        )
    else:
        _filtro = (
            f"Período: **{periodo.inicio:%d/%m/%Y} a {periodo.fim:%d/%m/%Y}** (dia de origem, "
            f"America/Sao_Paulo) · eventos: **{', '.join(eventos) if eventos else 'todos'}**"
        )
        _saida = mo.vstack(
            [
                mo.md(f"{_cab}\n\n{_filtro}"),
                mo.Html(
                    ui.cartoes(
                        [
                            ui.Indicador("Eventos", ui.fmt_int(resumo["eventos"])),
                            ui.Indicador("Contratos", ui.fmt_int(resumo["contratos"])),
                            ui.Indicador("Dias com eventos", ui.fmt_int(resumo["dias"])),
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
    return eventos, periodo, resumo


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    por_dia = contratos.volume_por_dia(wh, periodo, eventos) if resumo else None
    (
        charts.barras_por_dia(por_dia, "Eventos de contrato por dia e evento de notificação")
        if por_dia is not None and len(por_dia)
        else None
    )
    return (por_dia,)


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
        if por_ambiente is not None and len(por_ambiente)
        else None
    )
    return (por_ambiente,)


@app.cell(hide_code=True)
def _(resumo):
    mo.md(
        "## Ciclo de vida dos contratos\n\nPassos consecutivos de cada contrato (ordem da data "
        "de origem do evento) e o tempo entre eles, em horas."
    ) if resumo else None
    return


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    transicoes = contratos.transicoes(wh, periodo, eventos) if resumo else None
    (
        charts.barras_categoria(
            transicoes.assign(transicao=transicoes["de"] + " → " + transicoes["para"]),
            "transicao",
            "horas_mediana",
            "Tempo mediano entre passos do ciclo de vida (horas)",
            contagem=False,
        )
        if transicoes is not None and len(transicoes)
        else None
    )
    return (transicoes,)


@app.cell(hide_code=True)
def _(transicoes):
    transicoes if transicoes is not None and len(transicoes) else None
    return


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    incomuns = contratos.sequencias_incomuns(wh, periodo, eventos) if resumo else None
    (
        mo.md(
            "## Sequências incomuns\n\nContratos com evento após o encerramento (FINALIZADO, "
            "CONCLUIDO, CANCELADO) ou que não começam por REGISTRADO; horários em "
            "America/Sao_Paulo."
            + ("" if incomuns is not None and len(incomuns) else "\n\nNenhuma. ✅")
        )
        if resumo
        else None
    )
    return (incomuns,)


@app.cell(hide_code=True)
def _(incomuns):
    incomuns if incomuns is not None and len(incomuns) else None
    return


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    top = contratos.top_contratos(wh, periodo, eventos, n=10) if resumo else None
    mo.md("## Contratos com mais eventos (top 10)\n\nHorários em America/Sao_Paulo.") if (
        resumo
    ) else None
    return (top,)


@app.cell(hide_code=True)
def _(top):
    top if top is not None and len(top) else None
    return


if __name__ == "__main__":
    app.run()
