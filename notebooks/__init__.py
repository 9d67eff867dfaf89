"""The marimo reports and dashboards (plain `.py` notebooks) and `report_kit`, what they share.

A package so that the notebooks and their kit ship in the wheel: `ccee-webhook report` and the
Dagster `report_*` assets find them with `importlib.resources`, from a checkout or an install.
"""

from importlib.resources import files
from pathlib import Path

#: The folder holding the notebook files (in a checkout or in site-packages).
NOTEBOOKS_DIR = Path(str(files(__name__)))

__all__ = ["NOTEBOOKS_DIR"]
