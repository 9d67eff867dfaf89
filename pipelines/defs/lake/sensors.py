"""A sensor that loads lake day partitions as new files land in them."""

import hashlib
import json
from datetime import timedelta

import dagster as dg

from ingest.lake_files import partition_days, partition_signature
from ingest.lake_schema import NOTIFICACOES, QUARENTENA
from pipelines.partitions import daily, is_partition_key
from pipelines.resources import WarehouseResource

lake_job = dg.define_asset_job(
    "lake_job",
    selection=dg.AssetSelection.assets(
        "notificacoes",
        "metadados",
        "eventos_entidades",
        "contratos",
        "montantes_vigentes",
        "quarentena",
        "sla_entrega",
    ),
    partitions_def=daily,
    tags={"ccee-webhook/warehouse": "writer"},
    description="Load one lake day into the warehouse (tables, typed entities, contract "
    "state, amounts in force, SLA).",
)


@dg.sensor(
    job=lake_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Materializes a day when its lake folder changes (new or compacted files); "
    "a change on day D also refreshes D−1, whose retries may land on D.",
)
def lake_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    vistos: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    atuais: dict[str, str] = {}
    mudados = set()
    for table in (NOTIFICACOES, QUARENTENA):
        for day in partition_days(warehouse.data_dir, table):
            key = f"{table}/{day.isoformat()}"
            atuais[key] = partition_signature(warehouse.data_dir, table, day)
            if vistos.get(key) != atuais[key]:
                mudados.add(day)
                if table == NOTIFICACOES and (day - timedelta(days=1)) in partition_days(
                    warehouse.data_dir, table
                ):
                    mudados.add(day - timedelta(days=1))
    for day in sorted(mudados):
        if not is_partition_key(day):
            context.log.warning(f"lake folder dt={day} is outside the partitions ({daily})")
            continue
        assinatura = "|".join(
            atuais.get(f"{t}/{day.isoformat()}", "-") for t in (NOTIFICACOES, QUARENTENA)
        )
        digest = hashlib.sha1(assinatura.encode()).hexdigest()[:16]
        yield dg.RunRequest(run_key=f"{day.isoformat()}:{digest}", partition_key=day.isoformat())
    context.update_cursor(json.dumps(atuais, sort_keys=True))
