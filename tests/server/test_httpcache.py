"""HTTP caching (server/httpcache.py): ETag, Cache-Control, 304 without running, bounded result cache.

The middleware is tested alone around a counting WSGI app (to see what reaches the app),
then on the real server over HTTP: the fast path of GET /sparql, the Flask path, POST, the
prepared-query API and errors.
"""

from __future__ import annotations

import io

import requests

from patternkg.server.httpcache import HttpCache, ResultCache

QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


class Counting:
    """A WSGI app that answers with the request it saw and counts the calls."""

    def __init__(self, status: str = "200 OK", size: int = 10) -> None:
        self.calls = 0
        self.status = status
        self.size = size

    def __call__(self, environ, start_response):
        self.calls += 1
        body = (environ["PATH_INFO"] + "?" + environ.get("QUERY_STRING", "")).encode().ljust(self.size, b".")
        start_response(self.status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]


def call(app, path="/sparql", query="query=x", method="GET", headers=None, body=b""):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), **(headers or {})}
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(response_headers)

    out = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], out


def test_etag_names_generation_and_request_and_304_runs_nothing():
    inner = Counting()
    generation = ["g1"]
    app = HttpCache(inner, generation=lambda: generation[0], max_age=30)
    status, headers, body = call(app)
    assert status == "200 OK" and headers["Cache-Control"] == "public, max-age=30"
    etag = headers["ETag"]
    assert etag.startswith('"g1-') and inner.calls == 1
    assert call(app, query="query=y")[1]["ETag"] != etag
    assert call(app, headers={"HTTP_ACCEPT": "text/csv"})[1]["ETag"] != etag
    calls = inner.calls
    status, headers, body = call(app, headers={"HTTP_IF_NONE_MATCH": f'W/"nope", {etag}'})
    assert status == "304 Not Modified" and body == b"" and headers["ETag"] == etag
    assert inner.calls == calls  # answered without reaching the app
    generation[0] = "g2"  # a new generation: new ETags, the old one no longer matches
    status, headers, _ = call(app, headers={"HTTP_IF_NONE_MATCH": etag})
    assert status == "200 OK" and headers["ETag"].startswith('"g2-') and inner.calls == calls + 1


def test_repeated_requests_come_from_the_result_cache_and_head_is_not_cached():
    inner = Counting()
    app = HttpCache(inner, generation=lambda: "g")
    first = call(app)
    assert call(app) == first and inner.calls == 1
    status, headers, body = call(app, method="HEAD", query="query=z")
    assert inner.calls == 2
    assert call(app, query="query=z")[2] != b"" and inner.calls == 3  # a HEAD's empty body was not kept
    assert call(app, method="HEAD")[2] == b"" and inner.calls == 3  # a HEAD is answered from a cached GET
    assert call(app, headers={"HTTP_CACHE_CONTROL": "no-cache"}) == first and inner.calls == 4  # run again


def test_html_answers_are_kept_apart_per_audience():
    """A page in one audience's words is never served to a reader who chose another (the lens
    cookie keys HTML requests); data requests share one entry whatever the cookie."""
    inner = Counting()
    app = HttpCache(inner, generation=lambda: "g")
    html = {"HTTP_ACCEPT": "text/html"}
    tags = {call(app, "/api/queries/enablers", headers={**html, "HTTP_COOKIE": cookie})[1]["ETag"]
            for cookie in ("audience=corporate", "x=1; audience=activist", "")}
    assert len(tags) == 3 and inner.calls == 3
    data = {call(app, "/api/queries/enablers", headers={"HTTP_ACCEPT": "text/csv", "HTTP_COOKIE": cookie})[1]["ETag"]
            for cookie in ("audience=corporate", "")}
    assert len(data) == 1 and inner.calls == 4


def test_post_bodies_key_the_etag_and_the_app_still_reads_them():
    seen = []

    def echo(environ, start_response):
        body = environ["wsgi.input"].read()
        seen.append(body)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    app = HttpCache(echo, generation=lambda: "g")
    a = call(app, method="POST", query="", body=b"query=1", headers={"CONTENT_TYPE": "application/x-www-form-urlencoded"})
    b = call(app, method="POST", query="", body=b"query=2", headers={"CONTENT_TYPE": "application/x-www-form-urlencoded"})
    assert a[2] == b"query=1" and b[2] == b"query=2" and seen == [b"query=1", b"query=2"]
    assert a[1]["ETag"] != b[1]["ETag"]


def test_transient_errors_are_not_cached_and_have_no_etag():
    inner = Counting(status="503 SERVICE UNAVAILABLE")
    app = HttpCache(inner, generation=lambda: "g")
    status, headers, _ = call(app)
    assert headers["Cache-Control"] == "no-store" and "ETag" not in headers
    call(app)
    assert inner.calls == 2
    inner = Counting(status="400 BAD REQUEST")
    app = HttpCache(inner, generation=lambda: "g")
    assert "ETag" in call(app)[1]


def test_other_paths_pass_through():
    inner = Counting()
    app = HttpCache(inner, generation=lambda: "g")
    for path in ("/health", "/dumps/library.ttl", "/pattern/x"):
        assert "ETag" not in call(app, path=path)[1]


def test_result_cache_is_bounded_in_bytes():
    cache = ResultCache(8 * 1024)
    for i in range(100):
        cache.put(str(i), ("200 OK", [], b"x" * 700))
    assert cache.size <= 8 * 1024 and 0 < len(cache) < 100
    assert cache.get("99") is not None and cache.get("0") is None
    cache.put("big", ("200 OK", [], b"x" * 2000))  # more than an eighth: not kept
    assert cache.get("big") is None


# -- the real server --------------------------------------------------------------------------------


def test_sparql_fast_path_and_flask_path_carry_validators(server):
    url = server.sparql
    fast = requests.get(url, params={"query": QUERY}, headers={"Accept": "application/sparql-results+json"})
    assert fast.status_code == 200 and fast.headers["ETag"] and "max-age" in fast.headers["Cache-Control"]
    again = requests.get(url, params={"query": QUERY}, headers={"Accept": "application/sparql-results+json",
                                                              "If-None-Match": fast.headers["ETag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == fast.headers["ETag"]
    csv = requests.get(url, params={"query": QUERY}, headers={"Accept": "text/csv"})
    assert csv.headers["ETag"] != fast.headers["ETag"]
    flask = requests.get(url, params={"query": QUERY, "default-graph-uri": "urn:x:none"},
                         headers={"Accept": "application/sparql-results+json"})
    assert flask.status_code == 200 and flask.headers["ETag"] not in (fast.headers["ETag"], csv.headers["ETag"])
    post = requests.post(url, data=QUERY, headers={"Content-Type": "application/sparql-query",
                                                   "Accept": "application/sparql-results+json"})
    assert post.status_code == 200 and post.headers["ETag"] and post.json() == fast.json()
    bad = requests.get(url, params={"query": "SELECT nonsense"})
    assert bad.status_code == 400 and bad.headers["ETag"]


def test_prepared_queries_carry_validators_and_repeat_identically(server):
    url = server.url + "/api/queries/stats"
    first = requests.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    second = requests.get(url)
    assert second.content == first.content and second.headers["ETag"] == first.headers["ETag"]
    assert requests.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    missing = requests.get(server.url + "/api/queries/similar", params={"pattern": "no-such-pattern"})
    assert missing.status_code == 404 and missing.headers["ETag"]
    assert "ETag" not in requests.get(server.url + "/health").headers
