"""The reliability tests write their lakes after the Dagster definitions are imported: their
day partitions start at a fixed early day instead of the lake's first one (the default)."""

import os

os.environ.setdefault("CCEE_WEBHOOK_PARTITIONS_START", "2024-01-01")
