"""Shared machinery of the test suite, one job per module.

- `paths`: where the checkout, the fixtures and the installed CLI are.
- `waiting`: `wait_until` (poll a condition with a deadline) and `free_port`.
- `credentials`: the run's secrets (random per run, shared by the xdist workers) and the files
  the secret scan reads; `secret_scan`: that scan, run once every test is done.
- `processes`: servers in a session of their own, stopped with their children.
- `callbacks`: CCEE callback bodies (`body_for`) and the recorded sample.
- `receiver`: real `ccee-webhook serve` processes, the app in process (Litestar's test client)
  and under uvicorn in a thread.
- `lake`: the lake read exactly as every reader does (`lake_rows`, `settled`, ...).
- `lake_builder`: small real lakes written with the receiver's own schemas and layout.
- `load`: concurrent keep-alive load over raw HTTP/1.1 (`post_many`, `LoadLog`).
- `dagster_runs`: real Dagster materializations and read-only warehouse queries.
- `simulator`: the simulator's test participant, config factory, zeep clients and a scripted
  receiver the simulator delivers to.
- `fake_ccee`, `pki`, `soap_samples`: a small contract-enforcing CCEE, a throwaway CA, CCEE's
  recorded SOAP samples.
- `browser`, `warehouse_data`: headless chromium over CDP and warehouses with known rows.

The root `tests/conftest.py` puts `tests/` on `sys.path`, so tests import `support.<module>`.
"""
