"""Get the analytical half ready while CCEE's history replays: imports, the charts' bundle.

The history is replayed in ticks that wait on the simulator and the receiver far more than
they use the CPU, so the demo process mostly waits; Dagster, marimo, altair, polars and
DuckDB take seconds to import, and the reports' charting bundle
(`pipelines.defs.reports.export.vega_bundle`) seconds of CPU to build the first time. Both
are done meanwhile, so the Dagster phase starts with them ready: the imports in a thread of
this process (Python's import locks make that safe), the bundle in a child process
(vl-convert holds the GIL while it builds, which would stall the demo's progress). The live
day, paced by the clock, is not shared: its CCEE latencies stay the receiver's. Nothing here
changes what the demo does: a warm-up that fails or is still running only leaves the work
to the Dagster phase, as before.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import subprocess
import sys
import threading

#: what the Dagster phase imports, heaviest first. Not `pipelines.partitions` nor the
#: `pipelines.defs` modules that use it: they read the demo's settings when imported (the
#: partitions' start), which only the Dagster phase's environment holds.
MODULES = (
    "dagster",
    "sqlalchemy",
    "alembic.command",
    "dagster._core.storage.sqlite_storage",
    "pipelines.resources",
    "pipelines.core",
    "duckdb",
    "polars",
    "altair",
    "marimo",
    "notebooks.report_kit",
    "pipelines.defs.reports.export",
)
#: modules that must not be imported before the Dagster phase (see MODULES)
SETTINGS_BOUND = ("pipelines.partitions", "pipelines.definitions")

_BUILD_BUNDLE = (
    "from pipelines.defs.reports.export import vega_bundle, vega_bundle_path\n"
    "if not vega_bundle_path().exists():\n"
    "    vega_bundle()\n"
)
#: how long the Dagster phase waits for the bundle's builder before building it itself
BUNDLE_WAIT_S = 60.0


def _import_all() -> None:
    for name in MODULES:
        # Any failure is the Dagster phase's to report, with its own context: skip here.
        with contextlib.suppress(Exception):
            module = importlib.import_module(name)
            if name == "pipelines.core" and hasattr(module, "__path__"):
                for info in pkgutil.walk_packages(module.__path__, prefix=name + "."):
                    with contextlib.suppress(Exception):
                        importlib.import_module(info.name)


class Warmup:
    """Started before the history, awaited before the Dagster phase."""

    def __init__(self) -> None:
        self._thread = threading.Thread(target=_import_all, name="demo-warmup", daemon=True)
        self._bundle: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._thread.start()
        with contextlib.suppress(OSError):  # no child: the report export builds it
            self._bundle = subprocess.Popen(
                [sys.executable, "-c", _BUILD_BUNDLE],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=dict(os.environ),
                start_new_session=True,  # Ctrl-C reaches the demo, which stops it
            )

    def finish(self) -> None:
        """Wait for both; a builder still running after `BUNDLE_WAIT_S` is stopped."""
        if self._thread.is_alive():
            self._thread.join()
        if self._bundle is not None:
            try:
                self._bundle.wait(timeout=BUNDLE_WAIT_S)
            except subprocess.TimeoutExpired:
                self.stop()

    def stop(self) -> None:
        """The builder child, if still running, is killed (it writes its file atomically)."""
        if self._bundle is not None and self._bundle.poll() is None:
            self._bundle.kill()
            self._bundle.wait(timeout=10)
