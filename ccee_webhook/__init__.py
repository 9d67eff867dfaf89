"""ccee-webhook, the product: the `ccee-webhook` command and the end-to-end demo.

This package wires the parts (`ccee`, `ingest`, `simulator`, `pipelines`, `notebooks`, all
configured through `settings`); no part imports it.
"""

__all__: list[str] = []
