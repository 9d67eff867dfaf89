"""Daily partitions start where the data starts: configured > the lake's first day > today."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from pipelines.partitions import first_day
from settings import CCEE_TZ, SettingsError


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for k in ("PARTITIONS_START", "CONFIG", "DATA_DIR"):
        monkeypatch.delenv(f"CCEE_WEBHOOK_{k}", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./ccee-webhook.toml, ./data empty
    return tmp_path


def test_today_without_data_or_setting(clean: Path) -> None:
    assert first_day() == datetime.now(CCEE_TZ).date()


def test_the_lakes_first_day(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for table, day in (("notificacoes", "2026-11-05"), ("quarentena", "2026-11-03"),
                       ("notificacoes", "2026-11-09")):
        (clean / "data" / "lake" / table / f"dt={day}").mkdir(parents=True)
    assert first_day() == date(2026, 11, 3)


def test_toml_then_environment_win(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean / "data" / "lake" / "notificacoes" / "dt=2026-11-05").mkdir(parents=True)
    (clean / "ccee-webhook.toml").write_text('partitions_start = "2026-10-01"\n')
    assert first_day() == date(2026, 10, 1)
    (clean / "ccee-webhook.toml").write_text("partitions_start = 2026-09-01\n")  # TOML date
    assert first_day() == date(2026, 9, 1)
    monkeypatch.setenv("CCEE_WEBHOOK_PARTITIONS_START", "2025-01-31")
    assert first_day() == date(2025, 1, 31)


def test_a_bad_date_is_named(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCEE_WEBHOOK_PARTITIONS_START", "31/01/2025")
    with pytest.raises(SettingsError, match="CCEE_WEBHOOK_PARTITIONS_START must be a date"):
        first_day()
