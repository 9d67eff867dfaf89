"""The benchmark's honest baseline: a plain Litestar app that only decodes the callback.

`POST /ccee/{token}` → the body decoded into a msgspec Struct by Litestar itself, then 201
with an empty body: no auth, no logging, no metrics, no storage. It runs on the very server
`ccee-webhook serve` uses (uvicorn, the same options), so `benchmarks/receiver.py` can say
how close the real receiver's request path comes to what the framework alone costs.

    uv run python benchmarks/plain_app.py [--port 0]   # prints its URL as the first line
"""

from __future__ import annotations

import argparse
import sys

import msgspec
import uvicorn
from litestar import Litestar, post

from ingest.serve_cmd import bind_socket, listen_url, uvicorn_options


class Metadado(msgspec.Struct):
    nome: str
    valor: str


class Callback(msgspec.Struct):
    eventoNotificacao: str
    metadados: list[Metadado]
    transactionId: str


@post("/ccee/{token:str}", status_code=201)
async def callback(token: str, data: Callback) -> None:
    return None


app = Litestar(route_handlers=[callback], openapi_config=None, logging_config=None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    sock = bind_socket(args.host, args.port)
    print(listen_url(sock, tls=False), flush=True)
    sys.stdout.flush()
    uvicorn.Server(uvicorn.Config(app, **uvicorn_options())).run(sockets=[sock])


if __name__ == "__main__":
    main()
