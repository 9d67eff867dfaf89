"""Resources shared by every domain, bound from the environment (`CCEE_WEBHOOK_DATA_DIR`)."""

import os

import dagster as dg

from pipelines.resources import CCEEResource, WarehouseResource


def data_dir() -> str | dg.EnvVar:
    """`CCEE_WEBHOOK_DATA_DIR` when set (resolved at run time), else the documented `./data`."""
    return (
        dg.EnvVar("CCEE_WEBHOOK_DATA_DIR") if os.environ.get("CCEE_WEBHOOK_DATA_DIR") else "./data"
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={"warehouse": WarehouseResource(data_dir=data_dir()), "ccee": CCEEResource()},
        executor=dg.in_process_executor,
    )
