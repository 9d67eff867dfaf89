"""`ccee-webhook demo`: the whole product end to end on one machine.

One job per module: `command` (the click command and the run order), `folder` (its own
folder, settings file and scrubbed environment), `timeline` (options and CCEE calendar),
`services` (the simulator and receiver children, secrets), `processes` (one child process),
`context` (what the phases share and record), `phases` (start, subscribe, expire, Dagster),
`days` (history replay and the live day), `pipeline` (Dagster in process), `summary` (the
figures, the table and the "Next" commands).
"""

__all__: list[str] = []
