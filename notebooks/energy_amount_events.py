import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Montantes de energia — ccee-webhook")

with app.setup:
    # Montantes de energia: amounts in force (table montantes_vigentes) and declarations
    # (table eventos_montante_energia). Script, printing the headline figures:
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
    inicio, fim = montante.limites_periodo(wh)
    codigos = montante.codigos_evento(wh)
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
    resumo = montante.resumo(wh, periodo, eventos) if tem_dados else None
    _cab = (
        "# Montantes de energia\n\nMontantes vigentes e declarações `MONTANTE_ENERGIA.*` "
        "recebidas da CCEE"
    )
    if resumo is None:
        manchete = f"Montantes de energia: sem dados ainda ({wh.error or wh.path})"
        _saida = mo.vstack(
            [
                mo.md(_cab),
                mo.Html(ui.sem_dados("Nenhum evento de montante de energia", wh.error or wh.path)),
            ]
        )
    else:
        manchete = (
            f"Montantes de energia {periodo.inicio:%d/%m/%Y} a {periodo.fim:%d/%m/%Y}: "
            f"{ui.fmt_num(resumo['montante_vigente_mwh'])} MWh vigentes em "
            f"{ui.fmt_int(resumo['chaves'])} pares contrato × mês × submercado "
            f"({ui.fmt_int(resumo['contratos'])} contratos); "
            f"{ui.fmt_int(resumo['declaracoes'])} declarações"
        )
        _filtro = (
            f"Período: **{periodo.inicio:%d/%m/%Y} a {periodo.fim:%d/%m/%Y}** (dia de origem, "
            f"America/Sao_Paulo) · eventos: **{', '.join(eventos) if eventos else 'todos'}**. "
            "Montante vigente: para cada perfil, contrato, mês de referência e submercado, o "
            "valor da declaração com a data de origem mais recente (uma entrega atrasada de "
            "uma declaração antiga não substitui a nova); somados os vigentes declarados no "
            "período."
        )
        _saida = mo.vstack(
            [
                mo.md(f"{_cab}\n\n{_filtro}"),
                mo.Html(
                    ui.cartoes(
                        [
                            ui.Indicador(
                                "Montante vigente",
                                f"{ui.fmt_num(resumo['montante_vigente_mwh'])} MWh",
                                f"{ui.fmt_int(resumo['chaves'])} pares contrato × mês × submercado",
                            ),
                            ui.Indicador("Contratos", ui.fmt_int(resumo["contratos"])),
                            ui.Indicador(
                                "Meses de referência", ui.fmt_int(resumo["meses_referencia"])
                            ),
                            ui.Indicador(
                                "Declarações",
                                ui.fmt_int(resumo["declaracoes"]),
                                "eventos AJUSTADO e VALIDADO recebidos",
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
    por_mes = montante.vigente_por_mes(wh, periodo) if resumo else None
    (
        mo.md("## Montante vigente por mês de referência e submercado")
        if por_mes is not None and por_mes.height
        else None
    )
    return (por_mes,)


@app.cell(hide_code=True)
def _(por_mes):
    (
        charts.barras_categoria(
            por_mes,
            "mes_referencia",
            "montante_mwh_vigente",
            "Montante vigente por mês de referência (MWh)",
            cor="submercado",
            contagem=False,
            subtitulo="soma dos montantes vigentes; declarações substituídas não contam",
            ordem="ascending",
        )
        if por_mes is not None and por_mes.height
        else None
    )
    return


@app.cell(hide_code=True)
def _(por_mes):
    (
        mo.Html(ui.tabela(por_mes, {"substituidas": "Declarações substituídas"}))
        if por_mes is not None and por_mes.height
        else None
    )
    return


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    por_tempo = montante.volume_no_tempo(wh, periodo, eventos) if resumo else None
    _b = kit.balde(periodo)
    (
        charts.barras_no_tempo(
            por_tempo,
            f"Declarações de montante por {_b.nome} (quantidade de eventos)",
            _b.nome,
            eixo_y="Declarações (quantidade)",
            subtitulo=f"conta declarações recebidas por {_b.nome} da data de origem",
        )
        if por_tempo is not None and por_tempo.height
        else None
    )
    return (por_tempo,)


@app.cell(hide_code=True)
def _(periodo, resumo, wh):
    maiores = montante.vigentes(wh, periodo, n=20) if resumo else None
    (
        mo.vstack(
            [
                mo.md("## Maiores montantes vigentes (top 20)\n\nHorários em America/Sao_Paulo."),
                mo.Html(ui.tabela(maiores)),
            ]
        )
        if maiores is not None and maiores.height
        else None
    )
    return


@app.cell(hide_code=True)
def _(eventos, periodo, resumo, wh):
    tempos = montante.tempo_origem_notificacao(wh, periodo, eventos) if resumo else None
    (
        mo.md(
            "## Tempo da origem à notificação\n\nSegundos entre a data de origem do "
            "evento e (a) o primeiro recebimento no nosso receptor, (b) a "
            "dataNotificacao informada pela CCEE (quando os resultados de notificação "
            "já foram consultados)."
        )
        if tempos is not None and tempos.height
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
        if tempos is not None and tempos.height
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
