"""The HTTP API through the endpoint's real app (worker pool, limits): formats, paging,
errors, OpenAPI (checked by openapi-spec-validator), the docs page; and once over real HTTP."""

from __future__ import annotations

import csv
import io
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from qhelpers import P

SPARQL_NS = "{http://www.w3.org/2005/sparql-results#}"


def test_catalogue(client):
    r = client.get("/api/queries")
    assert r.status_code == 200
    entries = {q["name"]: q for q in r.get_json()["queries"]}
    assert set(entries) == {
        "enablers", "requirements", "neighbours", "by-domain", "top-assessed", "community", "similar", "path",
        "dangling-references", "one-sided-relations", "review-queue", "search", "stats"}
    params = {name: [p["name"] for p in q["parameters"]] for name, q in entries.items()}
    assert params["enablers"] == ["target", "domain"]
    assert params["top-assessed"] == ["dimension", "domain", "limit"]
    assert params["path"] == ["from", "to", "max"]
    assert params["stats"] == []
    assert "VALUES ?target { UNDEF }" in entries["enablers"]["sparql"]


def test_json_default(client):
    r = client.get("/api/queries/enablers?target=gamma&domain=ecology")
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["total"] == 2 and body["offset"] == 0 and body["limit"] == 100
    assert body["columns"] == ["enabler", "slug", "title", "weight", "source", "description"]
    assert body["rows"][0] == {"enabler": P("alpha"), "slug": "alpha", "title": "Alpha Commons", "weight": 0.8,
                               "source": "curated", "description": None}
    assert body["parameters"] == {"target": f"<{P('gamma')}>",
                                  "domain": "<https://w3id.org/patternkg/library/domain/ecology>"}


def test_csv(client):
    r = client.get("/api/queries/community?community=c-green", headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert table == [["pattern", "slug", "title", "confidence"],
                     [P("alpha"), "alpha", "Alpha Commons", "0.8"],
                     [P("beta"), "beta", "Beta Circle", "0.6"],
                     [P("epsilon"), "epsilon", "Epsilon Rotation", "0.3"]]


def test_sparql_json_and_xml(client):
    r = client.get("/api/queries/community?community=c-blue",
                   headers={"Accept": "application/sparql-results+json"})
    assert r.mimetype == "application/sparql-results+json"
    doc = r.get_json()
    assert doc["head"]["vars"] == ["pattern", "slug", "title", "confidence"]
    assert [b["slug"]["value"] for b in doc["results"]["bindings"]] == ["gamma", "epsilon"]
    assert doc["results"]["bindings"][0]["confidence"]["datatype"].endswith("#decimal")
    r = client.get("/api/queries/community?community=c-blue",
                   headers={"Accept": "application/sparql-results+xml;q=1, application/json;q=0.5"})
    assert r.mimetype == "application/sparql-results+xml"
    root = ET.fromstring(r.data)
    slugs = [b.find(f"{SPARQL_NS}literal").text for b in root.iter(f"{SPARQL_NS}binding") if b.get("name") == "slug"]
    assert slugs == ["gamma", "epsilon"]
    assert client.get("/api/queries/stats", headers={"Accept": "image/png"}).status_code == 406


def test_paging_total_and_links(client):
    r = client.get("/api/queries/review-queue?limit=2&offset=2")
    body = r.get_json()
    assert body["total"] == 5 and [row["reason"] for row in body["rows"]] == ["r5", "r6"]
    assert r.headers["X-Total-Count"] == "5"
    links = r.headers["Link"]
    assert '/api/queries/review-queue?limit=2&offset=4>; rel="next"' in links
    assert '/api/queries/review-queue?limit=2&offset=0>; rel="prev"' in links
    assert 'offset=4>; rel="last"' in links
    last = client.get("/api/queries/review-queue?limit=2&offset=4")
    assert [row["reason"] for row in last.get_json()["rows"]] == ["r4"]
    assert 'rel="next"' not in last.headers["Link"]
    # top-assessed owns `limit` (its default page size is 10)
    top = client.get("/api/queries/top-assessed?dimension=resilience&limit=1").get_json()
    assert top["total"] == 4 and top["limit"] == 1 and [row["slug"] for row in top["rows"]] == ["beta"]
    assert client.get("/api/queries/top-assessed?dimension=resilience").get_json()["limit"] == 10


@pytest.mark.parametrize(("url", "parameter", "expected"), [
    ("/api/queries/enablers", "target", "a pattern slug"),
    ("/api/queries/enablers?target=not%20a%20slug", "target", "a pattern slug"),
    ("/api/queries/path?from=alpha&to=delta&max=5", "max", "an integer >= 1 and <= 4"),
    ("/api/queries/path?from=alpha&to=delta&max=two", "max", "an integer"),
    ("/api/queries/top-assessed?dimension=beauty", "dimension", "one of overall"),
    ("/api/queries/search?text=", "text", "text"),
    ("/api/queries/stats?bogus=1", "bogus", "this query takes: none"),
    ("/api/queries/review-queue?limit=-1", "limit", "an integer"),
    ("/api/queries/review-queue?offset=x", "offset", "an integer"),
])
def test_bad_parameters_400(client, url, parameter, expected):
    r = client.get(url)
    assert r.status_code == 400, r.data
    body = r.get_json()
    assert body["parameter"] == parameter and f"'{parameter}'" in body["message"] and expected in body["message"]


def test_unknown_things_404(client):
    r = client.get("/api/queries/enablers?target=named-nowhere")
    assert r.status_code == 404 and r.get_json()["parameter"] == "target"
    assert "no pattern 'named-nowhere'" in r.get_json()["message"]
    # ghost has no file but alpha names it: a question about it is answered (issue 13)
    ghost = client.get("/api/queries/requirements?pattern=alpha")
    assert ghost.status_code == 200
    assert client.get("/api/queries/neighbours?pattern=ghost").status_code == 200
    assert client.get("/api/queries/path?from=alpha&to=nowhere").get_json()["parameter"] == "to"
    assert client.get("/api/queries/by-domain?domain=astrology").status_code == 404
    assert client.get("/api/queries/community?community=c-red").status_code == 404
    assert client.get("/api/queries/no-such-query").status_code == 404


def test_openapi_is_valid(client):
    from openapi_spec_validator import validate

    doc = client.get("/api/openapi.json").get_json()
    validate(doc)
    op = doc["paths"]["/api/queries/top-assessed"]["get"]
    schema = {p["name"]: p["schema"] for p in op["parameters"]}
    assert schema["dimension"]["enum"][0] == "overall" and schema["limit"]["default"] == 10
    assert "offset" in schema
    assert "VALUES ?dimension { UNDEF }" in op["description"]
    assert set(doc["paths"]) >= {"/api/queries", "/api/queries/path", "/api/queries/stats"}


def test_docs_page_shows_sparql(client):
    r = client.get("/api/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert page.count('<section id="') == 13
    assert "VALUES ?pattern { UNDEF }" in page and 'action="/api/queries/path"' in page


def test_row_cap_of_the_endpoint_applies(library_store, tmp_path):
    """Prepared queries run in the endpoint's pool: its row cap turns a big answer into 422."""
    from patternkg.server.app import create_app
    from patternkg.server.config import ServerConfig

    app = create_app(ServerConfig(store=library_store, workers=1, max_rows=3, dumps_dir=tmp_path,
                                  isolate_network=False))
    try:
        r = app.test_client().get("/api/queries/review-queue")
        assert r.status_code == 422 and r.get_json()["error"] == "rows"
        assert app.test_client().get("/api/queries/community?community=c-blue").status_code == 200
    finally:
        app.extensions["patternkg"].pool.close()


def test_over_real_http(library_store, tmp_path):
    """`patternkg serve` (granian, on loopback) answers the prepared queries."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
    from pkserver_helpers import start_server, stop_server

    server = start_server(library_store, tmp_path, workers=1)
    try:
        r = requests.get(server.url + "/api/queries/similar", params={"pattern": "alpha"}, timeout=30)
        assert r.status_code == 200
        assert [(row["slug"], row["score"]) for row in r.json()["rows"]] == [("epsilon", 3), ("beta", 2), ("gamma", 1)]
        r = requests.get(server.url + "/api/queries/search", params={"text": "circle"},
                         headers={"Accept": "text/csv"}, timeout=30)
        assert r.text.splitlines()[1].startswith(P("beta"))
        assert requests.get(server.url + "/api/queries/similar", params={"pattern": "zzz"}, timeout=30).status_code == 404
        assert json.loads(requests.get(server.url + "/api/openapi.json", timeout=30).text)["openapi"] == "3.1.0"
    finally:
        stop_server(server)


def test_cors_on_the_api(client):
    r = client.get("/api/queries", headers={"Origin": "https://tool.example"})
    assert r.headers.get("Access-Control-Allow-Origin") == "*"
    pre = client.options("/api/queries/enablers", headers={"Origin": "https://tool.example",
                                                            "Access-Control-Request-Method": "GET"})
    assert pre.headers.get("Access-Control-Allow-Origin") == "*"
