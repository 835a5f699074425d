"""JSON error bodies for every failure, and the mapping from exceptions to statuses.

Every error the server sends has the body
``{"error": <code>, "message": <text>, "status": <int>}`` with
``Content-Type: application/json``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Flask, Response, jsonify
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from .guard import RequestRefused
from .pool import QueryError

#: HTTP status for each :class:`~.pool.QueryError` kind.
QUERY_ERROR_STATUS: dict[str, int] = {
    "syntax": 400,
    "evaluation": 400,
    "rows": 422,
    "unrepresentable": 406,
    "timeout": 503,
    "busy": 503,
    "too-many-requests": 429,
    "memory": 503,
    "worker-crashed": 503,
    "startup": 503,
    "backend": 502,
}


class NotUtf8(RequestRefused):
    status = 400
    error = "bad-request"


def strict_params(raw: bytes) -> MultiDict[str, str]:
    """Decode ``application/x-www-form-urlencoded`` bytes (a query string or a form body).

    Percent-escapes and bytes that are not UTF-8 raise :class:`NotUtf8` (400), naming
    the parameter, where Werkzeug would replace them with U+FFFD and run what is left."""
    params: MultiDict[str, str] = MultiDict()
    # latin-1 maps bytes to code points one to one: the pairs keep the exact bytes sent
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        try:
            name = key.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            raise NotUtf8("a parameter name is not valid UTF-8 (percent-escapes must encode UTF-8)") from None
        try:
            params.add(name, value.encode("latin-1").decode("utf-8"))
        except UnicodeDecodeError:
            raise NotUtf8(f"the value of {name!r} is not valid UTF-8 (percent-escapes must encode UTF-8)") from None
    return params


def default_retry_after(status: int) -> int | None:
    """``Retry-After`` for a refusal that carries no estimate of its own: every 429 and
    503 (busy, timed out, crashed or starting) is worth trying again, after a second."""
    return 1 if status in (429, 503) else None


def error_response(status: int, error: str, message: str, *, retry_after: int | None = None) -> Response:
    response = jsonify({"error": error, "message": message, "status": status})
    response.status_code = status
    if retry_after is None:
        retry_after = default_retry_after(status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        name = (exc.name or "error").lower().replace(" ", "-")
        response = error_response(exc.code or 500, name, exc.description or name)
        for key, value in exc.get_headers():
            if key.lower() not in ("content-type", "content-length"):
                response.headers[key] = value
        return response

    @app.errorhandler(RequestRefused)
    def _refused(exc: RequestRefused) -> Response:
        return error_response(exc.status, exc.error, str(exc))

    @app.errorhandler(QueryError)
    def _query(exc: QueryError) -> Response:
        return error_response(QUERY_ERROR_STATUS.get(exc.kind, 500), exc.kind, exc.message,
                              retry_after=exc.retry_after)
