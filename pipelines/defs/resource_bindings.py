"""Resources shared by every domain, bound from the environment (`CCEE_WEBHOOK_DATA_DIR`)."""

import os

import dagster as dg

from pipelines.resources import CCEEResource, WarehouseResource
from settings import DATA_DIR_ENV
from settings import data_dir as default_data_dir


def data_dir() -> str | dg.EnvVar:
    """`CCEE_WEBHOOK_DATA_DIR` when set (an EnvVar, resolved at run time), else the settings
    home's default (TOML `data_dir`, else `./data`)."""
    return dg.EnvVar(DATA_DIR_ENV) if os.environ.get(DATA_DIR_ENV) else str(default_data_dir())


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={"warehouse": WarehouseResource(data_dir=data_dir()), "ccee": CCEEResource()},
        executor=dg.in_process_executor,
    )
