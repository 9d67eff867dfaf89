"""Dagster assets: one static HTML report per notebook, downstream of the tables it reads."""

from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.defs.reports.export import (
    RELATORIOS,
    Relatorio,
    export_report,
    external_references,
)
from pipelines.resources import WarehouseResource

GROUP = "reports"


def _asset_for(rel: Relatorio) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"report_{rel.nome}",
        group_name=GROUP,
        deps=[dg.AssetKey(k) for k in rel.deps],
        kinds={"html", "marimo"},
        # one run may cover a partition range of the tables upstream; the report is built once
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=f"{rel.titulo}: notebooks/{rel.notebook} exported as self-contained HTML "
        f"to $CCEE_WEBHOOK_DATA_DIR/reports/{rel.arquivo}.",
    )
    def _report(
        context: AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        path = export_report(rel, warehouse.path, Path(warehouse.data_dir) / "reports")
        page = path.read_text(encoding="utf-8")
        context.log.info(f"wrote {path} ({len(page)} chars)")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path.resolve())),
                "bytes": len(page.encode("utf-8")),
                "charts": page.count('class="grafico"'),
                "external_references": len(external_references(page)),
            }
        )

    return _report


report_assets = [_asset_for(r) for r in RELATORIOS]

defs = dg.Definitions(assets=report_assets)
