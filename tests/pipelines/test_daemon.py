"""A real `dagster-daemon` on a fresh instance runs every sensor and schedule the product needs
without anyone switching them on in the UI (issue 16, point 0).

The code server is started by the test (not by the daemon) so that loading the definitions on
a busy machine is not bounded by the daemon's own 60 s start-up limit; both are stopped at the
end. No CCEE profile is configured: the alerts sensor still evaluates its rules.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import InstigatorType, TickStatus
from support.processes import stop_session
from support.waiting import free_port

DEADLINE_S = 240.0  # generous for a loaded shared machine; ~30 s CPU in all, see the report
SENSORS = {"lake_sensor", "alerts_sensor"}
SCHEDULES = {"hourly_results_pull", "daily_compaction"}


def _wait(predicate: Callable[[], bool], deadline: float, what: str) -> None:
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


@pytest.fixture
def dagster_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nstorage:\n  sqlite:\n    base_dir:\n"
        "      env: DAGSTER_HOME\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    data = tmp_path / "data"
    data.mkdir()
    env |= {"DAGSTER_HOME": str(home), "CCEE_WEBHOOK_DATA_DIR": str(data)}
    return env


def test_daemon_runs_every_sensor_and_schedule_by_default(
    dagster_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadline = time.monotonic() + DEADLINE_S
    port = free_port()
    bin_dir = Path(sys.executable).parent
    code_log = (tmp_path / "code.log").open("wb")
    daemon_log_path = tmp_path / "daemon.log"
    daemon_log = daemon_log_path.open("wb")
    code = subprocess.Popen(
        [str(bin_dir / "dagster"), "api", "grpc", "-m", "pipelines.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        env=dagster_env, stdout=code_log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    daemon: subprocess.Popen[bytes] | None = None
    try:
        from dagster._grpc.client import DagsterGrpcClient

        client = DagsterGrpcClient(port=port, host="127.0.0.1")

        def serving() -> bool:
            assert code.poll() is None, (tmp_path / "code.log").read_text()
            try:
                client.ping("ok")
            except Exception:  # not listening yet (the code server is still loading)
                return False
            return True

        _wait(serving, deadline, "the code server")
        daemon = subprocess.Popen(
            [str(bin_dir / "dagster-daemon"), "run", "--grpc-host", "127.0.0.1",
             "--grpc-port", str(port)],
            env=dagster_env, stdout=daemon_log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        monkeypatch.setenv("DAGSTER_HOME", dagster_env["DAGSTER_HOME"])
        instance = dg.DagsterInstance.from_config(dagster_env["DAGSTER_HOME"])
        ticks: dict[str, list[object]] = {}

        def sensors_ticked() -> bool:
            assert daemon is not None and daemon.poll() is None, daemon_log_path.read_text()
            for st in instance.all_instigator_state():
                # a tick is recorded as STARTED first; only a finished one says what it did
                ticks[st.instigator_name] = [
                    t for t in instance.get_ticks(st.instigator_origin_id, st.selector_id)
                    if t.status != TickStatus.STARTED
                ]
            return all(ticks.get(name) for name in SENSORS)

        def schedules_running() -> bool:
            # The scheduler records a DECLARED_IN_CODE state for each schedule it runs (and
            # none for a stopped one); it then waits for the cron time to tick.
            states = instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
            return {st.instigator_name for st in states} >= SCHEDULES

        try:
            _wait(sensors_ticked, deadline, "a finished tick of every sensor")
            _wait(schedules_running, deadline, "the scheduler to run every schedule")
        finally:
            instance.dispose()
        alert_tick = ticks["alerts_sensor"][0]
        assert alert_tick.status == TickStatus.SKIPPED, alert_tick  # type: ignore[attr-defined]
        assert "0 alert(s) raised" in (alert_tick.skip_reason or "")  # type: ignore[attr-defined]
    finally:
        if daemon is not None:
            stop_session(daemon, grace=15)
        stop_session(code, grace=15)
        code_log.close()
        daemon_log.close()
