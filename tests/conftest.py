"""Root fixtures and hooks of the suite. Being at `tests/`, this file puts `tests/` on
`sys.path` (pytest's default `prepend` import mode), so every test imports `support.<module>`.

The suite runs on pytest-xdist (`-n auto --dist loadfile` in pyproject.toml): each test module
stays on one worker, so module-scoped fixtures such as the demo run are built once. Once every
worker is done, the main process scans every file the suite wrote for this run's secrets
(`support.secret_scan`) and fails the run on any hit.
"""

from __future__ import annotations

import os

import pytest

# Imported here, in pytest's main process, before any worker starts: the run's secret seed is
# drawn once and reaches the workers through their environment.
from support.credentials import TOKEN  # noqa: F401
from support.secret_scan import ScanResult, scan

#: workers at most: the heavy tests start servers of their own, each wanting a core
MAX_WORKERS = 4


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No `CCEE_WEBHOOK_*` variable of the developer's shell leaks into the test."""
    for key in list(os.environ):
        if key.startswith("CCEE_WEBHOOK_"):
            monkeypatch.delenv(key)
    return monkeypatch


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


_scan: ScanResult | None = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The final secret scan, in the main process only (workers share its base temp dir)."""
    global _scan
    if _is_worker(session.config) or session.testscollected == 0:
        return
    if session.config.option.collectonly:
        return
    base = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    _scan = scan(base)
    if (_scan.hits or _scan.failed) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _scan is None:
        return
    terminalreporter.section("secret scan")
    terminalreporter.write_line(_scan.summary())
    if _scan.hits:
        terminalreporter.write_line("SECRETS LEAKED:", red=True)
        for line in sorted(set(_scan.hits))[:30]:
            terminalreporter.write_line(f"  {line}", red=True)
    if _scan.failed:
        terminalreporter.write_line("files the scan could not fully read:", red=True)
        for line in _scan.failed[:30]:
            terminalreporter.write_line(f"  {line}", red=True)
