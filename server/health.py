"""``/health``: 200 with a small JSON report when a query worker answers, else 503."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from .pool import QueryError

bp = Blueprint("health", __name__)


@bp.route("/health")
def health() -> Response:
    state = current_app.extensions["patternkg"]
    try:
        state.pool.run("ping", timeout=5.0)
    except QueryError as exc:
        response = jsonify({"status": "unavailable", "error": exc.kind, "message": exc.message})
        response.status_code = 503
        return response
    return jsonify(
        {
            "status": "ok",
            "query_workers": state.pool.alive,
            "timeout_seconds": state.config.timeout,
            "max_rows": state.config.max_rows,
            "network_isolated_workers": state.pool.network_isolated,
        }
    )
