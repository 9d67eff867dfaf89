"""The S3-compatible object store behind an `s3://bucket/prefix` lake (obstore).

Client choice: obstore (Rust `object_store`, one self-contained wheel, no Python
dependencies) does create-only PUTs natively (`mode="create"` sends `If-None-Match: *`), lists
with delimiters and reads byte ranges, and releases the GIL during I/O, so the group commit's
flusher threads overlap their PUTs. boto3 would add botocore, s3transfer, jmespath and urllib3
for the same calls; a hand-written SigV4 client would be ours to keep correct.

Configuration is the standard AWS environment: `AWS_ENDPOINT_URL` (plain `http://` is
allowed, for a local server), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`). Errors raised from here are
`OSError`s and never carry credentials (the store's messages name only the bucket and key).
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, NotFoundError
from obstore.store import S3Store

from settings import S3Lake

if TYPE_CHECKING:  # a typing-only name in obstore
    from obstore.store import S3Config

#: A request that gets no answer within this is retried, then the write fails (503).
REQUEST_TIMEOUT = "15s"


class ObjectExists(OSError):
    """A create-only PUT found the key taken by an object with other content."""


def _aws(env: Mapping[str, str] | None) -> dict[str, str]:
    """The lake client's settings from the standard AWS environment (empty ones left out)."""
    env = os.environ if env is None else env
    found = {
        "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        "endpoint": env.get("AWS_ENDPOINT_URL", ""),
        "access_key_id": env.get("AWS_ACCESS_KEY_ID", ""),
        "secret_access_key": env.get("AWS_SECRET_ACCESS_KEY", ""),
        "session_token": env.get("AWS_SESSION_TOKEN", ""),
    }
    return {k: v for k, v in found.items() if v}


def open_store(lake: S3Lake, env: Mapping[str, str] | None = None) -> S3Store:
    """An S3 client rooted at the lake's prefix, configured from the AWS environment."""
    aws = _aws(env)
    config: S3Config = {"region": aws["region"]}
    for key in ("endpoint", "access_key_id", "secret_access_key", "session_token"):
        if key in aws:
            config[key] = aws[key]
    return S3Store(
        lake.bucket,
        prefix=lake.prefix or None,
        config=config,
        client_options={
            "allow_http": aws.get("endpoint", "").startswith("http://"),
            "timeout": REQUEST_TIMEOUT,
            "connect_timeout": "5s",
        },
        # Bounded: a receiver must answer CCEE (503 → it retries later) rather than hang.
        retry_config={"max_retries": 3, "retry_timeout": timedelta(seconds=30)},
    )


def storage_options(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The same client settings as `open_store`, as the `storage_options` of a reader with
    its own object-store client (polars' `scan_parquet`: Rust `object_store` keys)."""
    aws = _aws(env)
    opts: dict[str, Any] = {f"aws_{k}": v for k, v in aws.items() if k != "endpoint"}
    if "endpoint" in aws:
        opts["aws_endpoint_url"] = aws["endpoint"]
        opts["aws_allow_http"] = str(aws["endpoint"].startswith("http://")).lower()
    opts.update(timeout=REQUEST_TIMEOUT, connect_timeout="5s", max_retries=3)
    return opts


def _etag_matches(meta: Mapping[str, Any], data: bytes) -> bool:
    """A single-part PUT's ETag is the MD5 of its bytes (AWS S3, SeaweedFS, MinIO)."""
    etag = str(meta.get("e_tag") or "").strip('"')
    return etag == hashlib.md5(data, usedforsecurity=False).hexdigest()


def put_new(store: S3Store, key: str, data: bytes) -> None:
    """Create `key` with `data`; never overwrites. Returns once the store acknowledged it.

    If the create-only PUT reports the key taken, the object is ours when its ETag is our
    bytes' MD5: a retried PUT whose first attempt had landed. Anything else is refused.
    """
    try:
        obstore.put(store, key, data, mode="create")
    except AlreadyExistsError as exc:
        try:
            meta = obstore.head(store, key)
        except BaseError as head_exc:
            raise ObjectExists(errno.EEXIST, f"{key} already exists: {head_exc}") from exc
        if not _etag_matches(meta, data):
            raise ObjectExists(errno.EEXIST, f"{key} already exists with other content") from exc
    except BaseError as exc:
        raise OSError(errno.EIO, f"object store PUT {key} failed: {exc}") from exc


def get_bytes(store: S3Store, key: str) -> bytes:
    try:
        return bytes(obstore.get(store, key).bytes())
    except NotFoundError as exc:
        raise FileNotFoundError(key) from exc
    except BaseError as exc:
        raise OSError(errno.EIO, f"object store GET {key} failed: {exc}") from exc


def get_tail(store: S3Store, key: str, length: int) -> bytes:
    """The last `length` bytes of `key` (all of it when shorter): one ranged GET."""
    try:
        return bytes(obstore.get(store, key, options={"range": {"suffix": length}}).bytes())
    except NotFoundError as exc:
        raise FileNotFoundError(key) from exc
    except BaseError as exc:
        raise OSError(errno.EIO, f"object store GET {key} failed: {exc}") from exc


def delete(store: S3Store, key: str) -> None:
    """Remove `key` (absent is fine: S3 deletes are idempotent)."""
    try:
        obstore.delete(store, key)
    except NotFoundError:
        return
    except BaseError as exc:
        raise OSError(errno.EIO, f"object store DELETE {key} failed: {exc}") from exc


def list_objects(store: S3Store, prefix: str) -> Iterator[tuple[str, int, datetime]]:
    """(key, size, last modified) of every object under `prefix/`."""
    try:
        for batch in obstore.list(store, prefix.rstrip("/") + "/"):
            for meta in batch:
                yield meta["path"], int(meta["size"]), meta["last_modified"]
    except BaseError as exc:
        raise OSError(errno.EIO, f"object store LIST {prefix} failed: {exc}") from exc


def list_folders(store: S3Store, prefix: str) -> list[str]:
    """Names of the 'folders' (common prefixes) directly under `prefix/`."""
    try:
        found = obstore.list_with_delimiter(store, prefix.rstrip("/") + "/")
    except BaseError as exc:
        raise OSError(errno.EIO, f"object store LIST {prefix} failed: {exc}") from exc
    return [p.rstrip("/").rsplit("/", 1)[-1] for p in found["common_prefixes"]]
