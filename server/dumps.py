"""``/dumps/``: the whole library as Turtle, N-Triples, N-Quads, TriG and JSON-LD.

Dumps are written on first request by a query worker (with the converter's
``export``) into the dumps folder, gzipped next to it, and then served as
static files by werkzeug's ``send_file``, which does the HTTP work: a strong
ETag (SHA-256 of the content), ``If-None-Match``/``If-Modified-Since`` -> 304,
single byte ranges -> 206. A request for several ranges gets the whole file
with 200 (RFC 9110 section 14.2 lets a server ignore ``Range``; werkzeug would
answer 416). ``Content-Encoding: gzip`` when the client accepts it. The store is
read-only, so a dump never goes stale; :func:`dump_files` gives each dump's
size and checksum to the VoID/DCAT description.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.utils import send_file

from .errors import error_response
from .pool import QueryError

bp = Blueprint("dumps", __name__)

#: file name -> (export format, media type). werkzeug adds ``; charset=utf-8`` to text/* types.
DUMPS: dict[str, tuple[str, str]] = {
    "library.ttl": ("turtle", "text/turtle"),
    "library.nt": ("ntriples", "application/n-triples"),
    "library.nq": ("nquads", "application/n-quads"),
    "library.trig": ("trig", "application/trig"),
    "library.jsonld": ("jsonld", "application/ld+json"),
}


@dataclass(frozen=True)
class DumpFile:
    """One written dump: its path, size in bytes and SHA-256 (hex) of the uncompressed file."""

    name: str
    path: Path
    size: int
    sha256: str

    @property
    def media_type(self) -> str:
        return DUMPS[self.name][1]


_lock = threading.Lock()
_files: dict[Path, DumpFile] = {}


def ensure_dump(name: str) -> DumpFile:
    """The dump *name* (a key of :data:`DUMPS`), written by a query worker if it is not yet."""
    state = current_app.extensions["patternkg"]
    # one folder per generation: a dump always matches the generation that wrote it
    generation = state.pool.generation
    folder: Path = state.dumps_dir / generation if generation else state.dumps_dir
    path = folder / name
    with _lock:
        if not path.exists() or not path.with_name(name + ".gz").exists():
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            state.pool.run("dump", timeout=max(state.config.timeout, 600.0), fmt=DUMPS[name][0], output=str(tmp))
            if generation and state.pool.answered_by() != generation:
                tmp.unlink(missing_ok=True)  # the server moved to another generation meanwhile
                raise QueryError("busy", "the library moved to a new generation while the dump was written; "
                                 "try again")
            gz_tmp = folder / f".{name}.gz.{os.getpid()}.tmp"
            with open(tmp, "rb") as src, gzip.open(gz_tmp, "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst)
            os.replace(gz_tmp, path.with_name(name + ".gz"))
            os.replace(tmp, path)
        known = _files.get(path)
        if known is None:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            known = _files[path] = DumpFile(name, path, path.stat().st_size, digest.hexdigest())
    return known


def dump_files() -> list[DumpFile]:
    """Every dump, written first where needed (in :data:`DUMPS` order)."""
    return [ensure_dump(name) for name in DUMPS]


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
    info = ensure_dump(name)
    environ = request.environ
    ranges = request.range
    if ranges is not None and len(ranges.ranges) > 1:
        environ = {k: v for k, v in environ.items() if k not in ("HTTP_RANGE", "HTTP_IF_RANGE")}
    if request.accept_encodings["gzip"] > 0:
        response = send_file(info.path.with_name(name + ".gz"), environ, mimetype=info.media_type,
                             etag=info.sha256[:32] + "-gz", conditional=True)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = send_file(info.path, environ, mimetype=info.media_type, etag=info.sha256[:32], conditional=True)
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
