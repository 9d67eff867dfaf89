"""The wheel is the product: built, installed in a clean venv, run from outside the checkout.

Builds with `uv build --wheel`, installs into a fresh `uv venv` (dependencies resolved from uv's
cache or PyPI), then runs `ccee-webhook report --help` and a real report export on a tiny
(empty) warehouse from a working directory with no checkout around. Takes about 1-3 minutes
on 2 cores (most of it installing the dependencies into the new venv), hence `slow`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import duckdb
import pytest
from support.paths import ROOT

pytestmark = pytest.mark.slow

SHIPPED = [
    "ccee/wsdl/EventoNotificacaoBSv2.wsdl",
    "ccee/wsdl/PreferenciaNotificacaoBSv2.wsdl",
    "ccee/wsdl/ResultadoNotificacaoBSv2.wsdl",
    "ccee/wsdl/BO-v2.xsd",
    "ccee/wsdl/MH-v2.xsd",
    "notebooks/__init__.py",
    "notebooks/contract_events.py",
    "notebooks/energy_amount_events.py",
    "notebooks/delivery_health.py",
    "notebooks/report_kit/__init__.py",
    "ccee_webhook/demo/subscriptions.yaml",
]


def _clean_env(venv: Path) -> dict[str, str]:
    """No checkout on the path, no developer settings, the new venv first on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CCEE_WEBHOOK_", "PYTHON", "VIRTUAL_ENV", "UV_PROJECT"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{cmd[:3]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = shutil.which("uv")
    assert uv, "uv is required to build the wheel (installed by .ci/run)"
    out = tmp_path_factory.mktemp("dist")
    _run([uv, "build", "--wheel", "--out-dir", str(out), str(ROOT)], ROOT, dict(os.environ), 300)
    [whl] = out.glob("ccee_webhook-*.whl")
    return whl


def test_wheel_ships_the_contract_the_notebooks_and_the_demo_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in SHIPPED if n not in names]
    assert missing == []
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_runs_a_report_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    uv = shutil.which("uv")
    assert uv
    # The venv (~1 GB of dependencies) lives outside pytest's base temp and goes at the end:
    # it holds nothing of ours, and the secret scan reads every file left under base temp.
    with tempfile.TemporaryDirectory(prefix="ccee-wheel-venv-") as scratch:
        _report_from_installed_wheel(uv, wheel, Path(scratch) / "venv", tmp_path)


def _report_from_installed_wheel(uv: str, wheel: Path, venv: Path, tmp_path: Path) -> None:
    env = _clean_env(venv)
    _run([uv, "venv", "--python", sys.executable, str(venv)], tmp_path, env, 120)
    _run(
        [uv, "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)],
        tmp_path,
        env,
        600,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    cli = str(venv / "bin" / "ccee-webhook")
    helptext = _run([cli, "report", "--help"], work, env, 120)
    assert "Export the HTML reports" in helptext
    # The installed package, not the checkout, is what runs.
    where = _run(
        [str(venv / "bin" / "python"), "-c", "import notebooks; print(notebooks.NOTEBOOKS_DIR)"],
        work,
        env,
        60,
    )
    installed = Path(where.splitlines()[0]).resolve()  # stdout first, then stderr
    assert installed.is_relative_to(venv.resolve())
    assert not installed.is_relative_to(ROOT.resolve())

    data = work / "data"
    data.mkdir()
    duckdb.connect(str(data / "warehouse.duckdb")).close()  # a warehouse with no table yet
    out = _run(
        [cli, "report", "--data-dir", str(data), "--only", "delivery_health"], work, env, 300
    )
    page = data / "reports" / "delivery_health.html"
    assert page.exists(), out
    html = page.read_text(encoding="utf-8")
    assert "Sem dados ainda" in html
