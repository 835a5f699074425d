"""``/dumps/``: the whole library as Turtle, JSON-LD and N-Quads, with ETag and gzip.

Dumps are written on first request by a query worker (with the converter's
``export`` when it is available, else pyoxigraph's serialisers) into the dumps
folder, gzipped next to it, and then served as static files: a strong ETag
(SHA-256 of the content), ``If-None-Match`` -> 304, ``Content-Encoding: gzip``
when the client accepts it. The store is read-only, so a dump never goes stale.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import threading
from pathlib import Path

from flask import Blueprint, Response, current_app, request, send_file, url_for

from .errors import error_response

bp = Blueprint("dumps", __name__)

#: file name -> (export format, media type)
DUMPS: dict[str, tuple[str, str]] = {
    "library.ttl": ("turtle", "text/turtle; charset=utf-8"),
    "library.jsonld": ("jsonld", "application/ld+json"),
    "library.nq": ("nquads", "application/n-quads"),
}

_lock = threading.Lock()
_etags: dict[Path, str] = {}


def _ensure(name: str) -> Path:
    state = current_app.extensions["patternkg"]
    folder: Path = state.dumps_dir
    path = folder / name
    with _lock:
        if not path.exists() or not path.with_name(name + ".gz").exists():
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            state.pool.run("dump", timeout=max(state.config.timeout, 600.0), fmt=DUMPS[name][0], output=str(tmp))
            gz_tmp = folder / f".{name}.gz.{os.getpid()}.tmp"
            with open(tmp, "rb") as src, gzip.open(gz_tmp, "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst)
            os.replace(gz_tmp, path.with_name(name + ".gz"))
            os.replace(tmp, path)
        if path not in _etags:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            _etags[path] = digest.hexdigest()[:32]
    return path


@bp.route("/dumps/")
def index() -> Response:
    return current_app.json.response(
        {
            "dumps": [
                {"name": name, "url": url_for("dumps.dump", name=name, _external=True), "media_type": media}
                for name, (_, media) in DUMPS.items()
            ]
        }
    )


@bp.route("/dumps/<name>")
def dump(name: str) -> Response:
    if name not in DUMPS:
        return error_response(404, "not-found", f"no dump {name!r}; see /dumps/")
    path = _ensure(name)
    etag = _etags[path]
    media = DUMPS[name][1]
    if request.accept_encodings["gzip"] > 0:
        response = send_file(path.with_name(name + ".gz"), mimetype=media, etag=etag + "-gz", conditional=True)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = send_file(path, mimetype=media, etag=etag, conditional=True)
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
