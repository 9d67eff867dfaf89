"""The code location, loaded and validated in process (no `dg dev` subprocess).

`pipelines.definitions.defs` is what `dg dev`, `dg launch` and the demo load; a snapshot of
its asset keys and groups, checks, jobs, schedules, sensors and resources makes any change of
the Dagster surface a reviewed diff here.
"""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.definitions import defs as lazy_defs


@pytest.fixture(scope="module")
def repo() -> dg.RepositoryDefinition:
    defs = lazy_defs()
    assert isinstance(defs, dg.Definitions)
    dg.Definitions.validate_loadable(defs)
    return defs.get_repository_def()


def test_assets_and_their_groups(repo: dg.RepositoryDefinition) -> None:
    graph = repo.asset_graph
    groups = {
        key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()
    }
    assert groups == {
        "notificacoes": "lake",
        "metadados": "lake",
        "quarentena": "lake",
        "eventos_entidades": "catalog",
        "resultados_notificacao": "results",
        "sla_entrega": "sla",
        "contratos": "contracts",
        "montantes_vigentes": "contracts",
        "report_contract_events": "reports",
        "report_event_volumes": "reports",
        "report_energy_amount_events": "reports",
        "report_delivery_health": "reports",
    }


def test_asset_checks(repo: dg.RepositoryDefinition) -> None:
    checks = {f"{k.asset_key.to_user_string()}:{k.name}" for k in repo.asset_graph.asset_check_keys}
    assert checks == {
        "notificacoes:uma_linha_por_transaction_id",
        "notificacoes:contagem_confere_com_lago",
        "metadados:uma_linha_por_posicao",
        "eventos_entidades:uma_linha_por_transaction_id",
        "eventos_entidades:taxa_erros_conversao",
        "sla_entrega:notificado_presente_no_lago",
        "contratos:uma_linha_por_contrato",
        "contratos:eventos_conferem",
        "montantes_vigentes:uma_linha_por_chave",
        "montantes_vigentes:declaracoes_conferem",
    }


def test_jobs_schedules_sensors_resources(repo: dg.RepositoryDefinition) -> None:
    jobs = {j.name for j in repo.get_all_jobs() if not j.name.startswith("__")}
    assert jobs == {"lake_job", "results_job", "compaction_job"}
    schedules = {s.name: (s.job_name, s.cron_schedule) for s in repo.schedule_defs}
    assert schedules == {
        "hourly_results_pull": ("results_job", "7 * * * *"),
        "daily_compaction": ("compaction_job", "30 3 * * *"),
    }
    sensors = {s.name: (s.job_name if s.has_jobs else None) for s in repo.sensor_defs}
    # the alerts sensor launches nothing: it evaluates the rules and notifies
    assert sensors == {"lake_sensor": "lake_job", "alerts_sensor": None}
    assert set(repo.get_top_level_resources()) == {"ccee", "warehouse"}


def test_every_job_selects_known_assets(repo: dg.RepositoryDefinition) -> None:
    """Each job resolves its selection to assets of the location (a typo would be empty)."""
    for name in ("lake_job", "results_job", "compaction_job"):
        job = repo.get_job(name)
        assert job.name == name
    lake = repo.get_job("lake_job")
    keys = {k.to_user_string() for k in lake.asset_layer.executable_asset_keys}
    assert {"notificacoes", "metadados", "eventos_entidades", "quarentena"} <= keys
