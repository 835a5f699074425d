"""``/health``: the state of the query workers, answered at once and truthfully.

It never waits for a worker: it looks at the pool (:meth:`~.pool.QueryPool.check`),
which also replaces idle workers that have died, so a dead worker is neither
counted as alive nor left for a request to find. Status:

- ``ok`` (200): at least one worker is ready or running a query (a server whose
  workers are all busy is healthy, only busy);
- ``starting`` (503): no worker has opened the store yet;
- ``unavailable`` (503): the workers cannot open the store (``message`` says why).

With ``serve --backend`` there are no workers: the backend (:mod:`.backend`) is
pinged, for at most 5 s.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from .pool import QueryError

bp = Blueprint("health", __name__)


@bp.route("/health")
def health() -> Response:
    state = current_app.extensions["patternkg"]
    pool = state.pool
    if not hasattr(pool, "check"):
        return _ping_backend(state)
    pool.start()
    counts = pool.check()
    working = counts["ready"] + counts["busy"]
    if working:
        status, code = "ok", 200
    elif counts["failed"]:
        status, code = "unavailable", 503
    else:
        status, code = "starting", 503
    body = {
        "status": status,
        "query_workers": working + counts["starting"],
        "ready": counts["ready"],
        "busy": counts["busy"],
        "starting": counts["starting"],
        "replaced_dead_workers": pool.replaced_dead,
        "timeout_seconds": state.config.timeout,
        "max_rows": state.config.max_rows,
        "network_isolated_workers": pool.network_isolated,
    }
    gate = pool.gate
    body["queue"] = {"running": gate.running, "waiting": gate.waiting, "per_client": gate.per_client,
                     "queue_timeout_seconds": gate.queue_timeout, "refused_busy": gate.refused_busy,
                     "refused_client": gate.refused_client}
    front = getattr(state, "front", None)
    if front is not None:
        body["http"] = front.stats()
    if status == "unavailable":
        body["message"] = pool.startup_error
    response = jsonify(body)
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    return response


def _ping_backend(state) -> Response:  # noqa: ANN001 - the app state
    try:
        state.pool.run("ping", timeout=5.0)
    except QueryError as exc:
        response = jsonify({"status": "unavailable", "error": exc.kind, "message": exc.message})
        response.status_code = 503
        return response
    return jsonify({"status": "ok", "query_workers": state.pool.alive, "timeout_seconds": state.config.timeout,
                    "max_rows": state.config.max_rows, "network_isolated_workers": state.pool.network_isolated})
