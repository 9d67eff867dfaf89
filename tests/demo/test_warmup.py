"""The demo's warm-up: it readies the Dagster phase without importing what reads its settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from ccee_webhook.demo.warmup import SETTINGS_BOUND, Warmup
w = Warmup()
w.start()
w.finish()
bound = sorted(m for m in sys.modules if m.startswith(SETTINGS_BOUND)
               or (m.startswith("pipelines.defs.") and not m.startswith("pipelines.defs.reports")))
print(json.dumps({"bound": bound, "dagster": "dagster" in sys.modules,
                  "marimo": "marimo" in sys.modules}))
"""


def test_warmup_imports_the_heavy_parts_and_builds_the_bundle(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    env["CCEE_WEBHOOK_CACHE_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # Imported now, these would freeze the partitions' start before the demo's settings exist.
    assert seen["bound"] == []
    assert seen["dagster"] and seen["marimo"]
    bundles = list(tmp_path.glob("vega-embed-*.js"))
    assert len(bundles) == 1 and "vegaEmbed" in bundles[0].read_text(encoding="utf-8")
