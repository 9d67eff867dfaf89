"""The receiver's Prometheus alerting rules: valid (`promtool check rules`) and behaving as
documented on synthetic series (`promtool test rules`). promtool comes from Debian's
`prometheus` package, installed by .ci/run; no Prometheus server is started."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import ingest

RULES = Path(ingest.__file__).parent / "prometheus" / "alerts.rules.yml"
CASES = Path(__file__).parent / "prometheus" / "alerts.rules.test.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: install Debian's `prometheus` package (.ci/run does)")
    return path


def test_rules_file_ships_in_the_package() -> None:
    assert RULES.is_file()


def test_promtool_check_rules(promtool: str) -> None:
    r = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 6 rules found" in r.stdout


def test_promtool_test_rules(promtool: str, tmp_path: Path) -> None:
    cases = tmp_path / "alerts.rules.test.yml"
    cases.write_text(CASES.read_text(encoding="utf-8").replace("RULES_FILE", str(RULES)),
                     encoding="utf-8")
    r = subprocess.run([promtool, "test", "rules", str(cases)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout + r.stderr


def test_promtool_catches_a_wrong_expectation(promtool: str, tmp_path: Path) -> None:
    """The unit tests can fail: a case expecting the wrong severity is reported."""
    text = CASES.read_text(encoding="utf-8").replace("RULES_FILE", str(RULES))
    cases = tmp_path / "wrong.yml"
    cases.write_text(text.replace("{severity: critical, job: ccee-webhook, instance: \"a:8000\"}",
                                  "{severity: warning, job: ccee-webhook, instance: \"a:8000\"}"),
                     encoding="utf-8")
    r = subprocess.run([promtool, "test", "rules", str(cases)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0
    assert "CceeWebhookReceiverDown" in r.stdout + r.stderr
