"""The receiver with a benchmark baseline writer, served exactly as `ccee-webhook serve` serves
the durable one: settings from the environment, the same uvicorn options and start-up tuning,
the URL as the first line of stdout. Benchmarks only: `off` stores nothing.

    uv run python benchmarks/serve_variant.py --mode off|fsync-per-request [--port 0]
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from benchmarks.baseline_writers import writer_for
from ingest.app import create_app
from ingest.logs import configure_logging
from ingest.serve_cmd import bind_socket, listen_url, uvicorn_options
from ingest.tuning import tune_process_for_serving
from settings import receiver_settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["off", "fsync-per-request"], required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    settings = receiver_settings().validate()
    configure_logging("info")
    if args.mode == "off":
        print("WARNING: mode off: deliveries are NOT stored (benchmark only)", file=sys.stderr)
    sock = bind_socket(args.host, args.port)
    print(listen_url(sock, tls=False), flush=True)
    app = create_app(settings, writer_for=writer_for(args.mode))
    tune_process_for_serving()
    uvicorn.Server(uvicorn.Config(app, **uvicorn_options())).run(sockets=[sock])


if __name__ == "__main__":
    main()
