"""`ccee-webhook report` and the Dagster assets write self-contained pages that render offline."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner
from nb_png import colored_pixels
from support.browser import Browser

from pipelines.defs.reports.assets import report_assets
from pipelines.defs.reports.export import external_references
from pipelines.report_cmd import report
from pipelines.resources import WarehouseResource

EXPECTED_CHARTS = {
    "contract_events": 4,
    "energy_amount_events": 3,
    "event_volumes": 2,
    "delivery_health": 5,
}
#: colored pixels (marks) a drawn chart has at least at half scale; an empty frame has none
MIN_MARK_PIXELS = 80

ALL_RENDERED = """(() => {
  const els = [...document.querySelectorAll("div.grafico")];
  if (els.some(e => e.dataset.erro)) return "erro: " + els.map(e => e.dataset.erro).join(";");
  return els.length > 0 && els.every(e => e.dataset.renderizado === "1"
      && e.querySelector("svg .mark-rect, svg .mark-line, svg .mark-symbol")) ? els.length : 0;
})()"""


@pytest.fixture(scope="module")
def exported(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("data")
    shutil.copy(warehouse, data / "warehouse.duckdb")
    res = CliRunner().invoke(report, ["--data-dir", str(data)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return data / "reports"


def test_report_command_writes_every_page_with_its_figures(exported: Path) -> None:
    pages = {p.stem: p.read_text(encoding="utf-8") for p in exported.glob("*.html")}
    assert set(pages) == set(EXPECTED_CHARTS)
    for name, page in pages.items():
        assert external_references(page) == [], name
        assert page.count('class="grafico"') == EXPECTED_CHARTS[name], name
        assert "vegaEmbed" in page  # the library is inside the page, not fetched
    dh = pages["delivery_health"]
    assert "ALARME: perda de dados" in dh and "78,9 %" in dh and ">t4<" in dh
    assert "json_invalido" in dh
    ce = pages["contract_events"]
    assert "transição não prevista: VALIDADO → FINALIZADO" in ce
    assert "25/11/2026 22:30" in ce  # São Paulo time, not UTC
    assert "260,2 MWh" in pages["energy_amount_events"]  # in force, Brazilian format
    for page in pages.values():
        assert "✅" not in page  # no glyph the default fonts may not draw
        assert not re.search(r"<th>[a-z]+_[a-z_]+</th>", page)  # human column labels
    assert not list(exported.glob(".*.tmp"))  # atomic writes leave nothing behind


def test_exported_pages_render_offline_in_chromium(exported: Path, tmp_path: Path) -> None:
    with Browser() as b:
        b.block_network()
        for name, n in EXPECTED_CHARTS.items():
            b.events.clear()
            b.goto((exported / f"{name}.html").as_uri())
            assert b.wait_for(ALL_RENDERED, timeout=60) == n, name
            b.screenshot(tmp_path / f"{name}.png")
            for i in range(n):  # each chart, cut from the screen, shows drawn marks
                png = b.screenshot_of(("div.grafico", i))
                marks = colored_pixels(png)
                assert marks >= MIN_MARK_PIXELS, f"{name}: chart {i} looks empty ({marks})"
            urls = [u for u in b.requested_urls() if not u.startswith(("file:", "data:"))]
            assert urls == [], f"{name} fetched {urls}"
            assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_self_containment_check_catches_cdn_assets() -> None:
    assert external_references('<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>')
    assert external_references("<link rel=stylesheet href='//fonts.example/x.css'>")
    assert external_references("<style>@import url(https://x/y.css)</style>")
    assert external_references('<div style="background:url(http://x/y.png)">')
    assert not external_references('<a href="https://ccee.org.br">CCEE</a><script>1</script>')


def test_empty_warehouse_exports_no_data_pages(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        report, ["--data-dir", str(tmp_path / "none"), "--only", "delivery_health"]
    )
    assert res.exit_code == 0, res.output
    page = (tmp_path / "none" / "reports" / "delivery_health.html").read_text(encoding="utf-8")
    assert "Sem dados ainda" in page and 'class="grafico"' not in page
    assert 'data-tom="ok"' not in page and "Nenhuma no período" not in page  # no all-clear
    assert not re.search(r"<script>[^<]{100000,}", page)  # no chart, no 900 kB vega bundle


def test_dagster_materializes_the_reports(warehouse: Path, tmp_path: Path) -> None:
    shutil.copy(warehouse, tmp_path / "warehouse.duckdb")
    result = dg.materialize(
        report_assets, resources={"warehouse": WarehouseResource(data_dir=str(tmp_path))}
    )
    assert result.success
    events = {
        (e.asset_key or dg.AssetKey("?")).to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert set(events) == {f"report_{n}" for n in EXPECTED_CHARTS}
    for name, n in EXPECTED_CHARTS.items():
        meta = events[f"report_{name}"]
        assert meta["charts"].value == n
        assert meta["external_references"].value == 0
        assert (tmp_path / "reports" / f"{name}.html").exists()
    deps = {
        a.key.to_user_string(): {k.to_user_string() for k in a.asset_deps[a.key]}
        for a in report_assets
    }
    assert deps["report_delivery_health"] >= {"sla_entrega", "quarentena"}
    assert "eventos_entidades" in deps["report_contract_events"]


def test_the_charting_bundle_is_read_from_the_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built once per machine and version (it costs seconds of CPU), then read back."""
    from pipelines.defs.reports import export

    built = export.vega_bundle()  # whatever cache the environment has (built if missing)
    assert export.vega_bundle_path().read_text(encoding="utf-8") == built
    assert "vegaEmbed" in built
    monkeypatch.setenv("CCEE_WEBHOOK_CACHE_DIR", str(tmp_path))
    cached = export.vega_bundle_path()
    assert cached.parent == tmp_path
    assert "vl" in cached.name and "vlconvert" in cached.name  # a new version, a new file
    cached.write_text("/* cached vegaEmbed */", encoding="utf-8")
    export.vega_bundle.cache_clear()
    try:
        assert export.vega_bundle() == "/* cached vegaEmbed */"
    finally:
        export.vega_bundle.cache_clear()
