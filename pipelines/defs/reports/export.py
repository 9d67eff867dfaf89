"""Run a marimo notebook against the warehouse and write it as one self-contained HTML file.

``marimo export html`` writes a page that loads marimo's whole frontend from a CDN, so it does
not open offline. Here the notebook runs in-process (``app.run``), and each cell output is
rendered statically: Markdown/HTML as is, polars frames as tables, Altair charts through
vega-embed, whose JavaScript bundle (from ``vl-convert``) is inlined once per page. Interactive
widgets (filters, refresh) are left out; the page shows them at their defaults.
"""

import contextlib
import datetime as dt
import html
import importlib.util
import io
import json
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from notebooks import NOTEBOOKS_DIR
from settings import CCEE_TZ, CCEE_TZ_NAME, cache_dir


@dataclass(frozen=True)
class Relatorio:
    """One report: the notebook it comes from and the warehouse tables (asset keys) it reads."""

    nome: str
    notebook: str
    titulo: str
    deps: tuple[str, ...]

    @property
    def arquivo(self) -> str:
        return f"{self.nome}.html"


RELATORIOS: tuple[Relatorio, ...] = (
    Relatorio(
        "contract_events",
        "contract_events.py",
        "Contratos",
        ("notificacoes", "eventos_entidades", "contratos"),
    ),
    Relatorio(
        "energy_amount_events",
        "energy_amount_events.py",
        "Montantes de energia",
        ("notificacoes", "eventos_entidades", "montantes_vigentes", "resultados_notificacao"),
    ),
    Relatorio(
        "event_volumes",
        "event_volumes.py",
        "Volume de eventos",
        ("notificacoes", "metadados"),
    ),
    Relatorio(
        "delivery_health",
        "delivery_health.py",
        "Saúde da entrega",
        ("notificacoes", "resultados_notificacao", "sla_entrega", "quarentena"),
    ),
)


class ExportError(RuntimeError):
    """A report could not be produced (the notebook failed, or the page is not self-contained)."""


def relatorio(nome: str) -> Relatorio:
    for r in RELATORIOS:
        if r.nome == nome:
            return r
    raise KeyError(f"unknown report {nome!r}; known: {', '.join(r.nome for r in RELATORIOS)}")


def run_notebook(path: Path, warehouse: Path) -> Sequence[Any]:
    """Execute a notebook with ``warehouse_path`` pinned; returns each cell's output."""
    if not path.exists():
        raise ExportError(f"notebook not found: {path}")
    name = f"_ccee_report_{path.stem}_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ExportError(f"cannot load notebook {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        # A notebook run as a script prints its headline; here the page is the output.
        with contextlib.redirect_stdout(io.StringIO()):
            outputs, _defs = module.app.run(defs={"warehouse_path": warehouse})
    except Exception as exc:
        raise ExportError(f"{path.name} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.modules.pop(name, None)
    return outputs


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """vega + vega-lite + vega-embed as one classic script defining ``vegaEmbed``.

    Building it takes vl-convert several seconds of CPU with the GIL held, and the result
    depends only on the versions, so it is kept in the cache folder (`settings.cache_dir`)
    under a name carrying both versions: built once per machine and upgrade."""
    path = vega_bundle_path()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass  # not built yet (or unreadable): build it below
    import vl_convert as vlc

    # The shipped stub marks `snippet` required; omitting it selects the default global export.
    bundle: Any = vlc.javascript_bundle
    text = str(bundle(vl_version=_vega_lite_version()))
    with contextlib.suppress(OSError):  # a read-only home only costs the rebuild next time
        write_atomic(path, text)
    return text


def vega_bundle_path() -> Path:
    """The cached bundle's file: one per vl-convert version and Vega-Lite schema version."""
    import vl_convert as vlc

    vlc_version = getattr(vlc, "__version__", "unknown")  # the shipped stub omits it
    return cache_dir() / f"vega-embed-vl{_vega_lite_version()}-vlconvert{vlc_version}.js"


def _vega_lite_version() -> str:
    """The Vega-Lite `major.minor` of altair's charts, which the bundle must render."""
    import altair as alt

    return ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


def _script_json(obj: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(obj, ensure_ascii=False, default=str).replace("</", "<\\/")


def render_output(obj: Any, charts: list[dict[str, Any]]) -> str | None:
    """Static HTML for one cell output; charts are collected to be embedded by one script."""
    if obj is None:
        return None
    import altair as alt
    import polars as pl

    from notebooks.report_kit import ui

    if isinstance(obj, alt.TopLevelMixin):
        charts.append(obj.to_dict())
        return f'<div class="grafico" data-grafico="{len(charts) - 1}"></div>'
    if isinstance(obj, pl.DataFrame):
        return ui.tabela(obj)
    text = getattr(obj, "text", None)
    if isinstance(text, str):
        # Widgets and other marimo custom elements need marimo's frontend: leave them out.
        return None if "<marimo-" in text else text
    return f"<pre>{html.escape(repr(obj))}</pre>"


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
margin:24px auto;padding:0 16px;color:#111827;line-height:1.45}
h1{font-size:1.8rem;margin:0.4em 0}h2{font-size:1.3rem;margin:1.4em 0 0.4em;
border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.celula{margin:10px 0}.grafico{margin:8px 0}
table.tabela{border-collapse:collapse;font-size:0.85rem;margin:6px 0}
table.tabela th,table.tabela td{border-bottom:1px solid #e5e7eb;text-align:left}
table.tabela th{background:#f9fafb}
.paragraph{display:block;margin:0.5em 0}
code{background:#f3f4f6;padding:1px 4px;border-radius:3px}
.nota{color:#6b7280;font-size:0.8rem}
footer{margin-top:32px;color:#6b7280;font-size:0.8rem}
"""

SCRIPT = """
(function(){
  var specs = JSON.parse(document.getElementById("ccee-specs").textContent);
  document.querySelectorAll("div.grafico").forEach(function(el){
    var spec = specs[Number(el.dataset.grafico)];
    var opts = {actions: {export: true, source: false, compiled: false, editor: false},
      renderer: "svg"};
    if (spec.usermeta && spec.usermeta.embedOptions) {
      Object.assign(opts, spec.usermeta.embedOptions);
    }
    vegaEmbed(el, spec, opts).then(function(){ el.dataset.renderizado = "1"; })
      .catch(function(err){ el.dataset.erro = String(err);
        el.textContent = "Erro ao desenhar o gráfico: " + err; });
  });
})();
"""


def render_page(titulo: str, outputs: Iterable[Any], fonte: str) -> str:
    """The whole report page; charts are drawn by the inlined vega-embed at load time."""
    charts: list[dict[str, Any]] = []
    cells = [h for h in (render_output(o, charts) for o in outputs) if h]
    body = "\n".join(f'<section class="celula">{c}</section>' for c in cells)
    agora = dt.datetime.now(CCEE_TZ).strftime("%d/%m/%Y %H:%M")
    vega = "<script>" + vega_bundle().replace("</script", "<\\/script") + "</script>"
    if not charts:
        vega = ""
    return (
        '<!DOCTYPE html>\n<html lang="pt-BR"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(titulo)} — ccee-webhook</title><style>{CSS}</style>{vega}"
        f"</head><body>\n{body}\n<footer>Gerado em {agora} ({CCEE_TZ_NAME}) a partir de "
        f"<code>{html.escape(fonte)}</code> por ccee-webhook.</footer>"
        f'<script type="application/json" id="ccee-specs">{_script_json(charts)}</script>'
        f"<script>{SCRIPT}</script></body></html>\n"
    )


_EXTERNAL = re.compile(
    r"""<(?:script|img|iframe|audio|video|source|embed)\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def external_references(page: str) -> list[str]:
    """Markup that would make the browser fetch something from the network to render."""
    return [m.group(0) for m in _EXTERNAL.finditer(page)]


def _chart_data_urls(page_specs: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            url = v.get("url")
            if isinstance(url, str) and re.match(r"(?:https?:)?//", url):
                found.append(url)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(page_specs)
    return found


def write_atomic(path: Path, text: str) -> None:
    """Temp file, fsync, rename: a reader (or a browser) never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _kept_open(warehouse: Path) -> Iterator[None]:
    """One read-only connection held while a notebook runs. The notebook connects per query
    (`report_kit.warehouse`), and opening the file costs ~0.1 s each time; with a connection
    held, DuckDB hands those connections the already open database (a few ms). A writer in
    another process waits for the report either way: the queries run back to back."""
    import duckdb

    con = None
    if warehouse.exists():
        # Unopenable (busy, not DuckDB): the notebook's own connections report it.
        with contextlib.suppress(duckdb.Error):
            con = duckdb.connect(str(warehouse), read_only=True)
    try:
        yield
    finally:
        if con is not None:
            con.close()


def export_report(
    rel: Relatorio, warehouse: Path, out_dir: Path, notebooks_dir: Path = NOTEBOOKS_DIR
) -> Path:
    """Run one report's notebook and write ``out_dir/<nome>.html``; returns the path."""
    with _kept_open(warehouse):
        outputs = run_notebook(notebooks_dir / rel.notebook, warehouse)
    page = render_page(rel.titulo, outputs, str(warehouse))
    bad = external_references(page)
    specs = json.loads(
        page.split('id="ccee-specs">', 1)[1].split("</script>", 1)[0].replace("<\\/", "</")
    )
    bad += _chart_data_urls(specs)
    if bad:
        raise ExportError(f"{rel.nome}: page would need the network: {bad[:3]}")
    target = out_dir / rel.arquivo
    write_atomic(target, page)
    return target
