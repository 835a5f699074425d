"""The w3id redirect rules (deploy/w3id/patternkg/.htaccess) against the app's routes.

The RewriteRules are applied in order as Apache's mod_rewrite does in a directory
context (the pattern sees the path below /patternkg/, ``$1`` is the first group, ``L``
stops, ``R=`` sets the status); each target is then requested from the real app (its
URL map and views, over the seed library): every IRI minted in the data, the ontology
IRI and the vocabulary IRIs resolve with 200 in Turtle, in JSON-LD and in HTML."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest

REPO = Path(__file__).resolve().parent.parent.parent
HTACCESS = REPO / "deploy" / "w3id" / "patternkg" / ".htaccess"
W3ID = "https://w3id.org/patternkg/"
HOST = "https://patternkg.example.org"


def rules() -> list[tuple[re.Pattern[str], str, dict[str, str]]]:
    found = []
    for line in HTACCESS.read_text().splitlines():
        line = line.strip()
        if line.startswith("RewriteRule "):
            _, pattern, target, flags = line.split(None, 3)
            options = dict(f.partition("=")[::2] for f in flags.strip("[]").split(","))
            found.append((re.compile(pattern), target, options))
    return found


def resolve(iri: str) -> tuple[int, str]:
    """(redirect status, target URL) for *iri* under https://w3id.org/patternkg/."""
    assert iri.startswith(W3ID)
    local = iri[len(W3ID):]
    for pattern, target, flags in rules():
        match = pattern.search(local)
        if match:
            url = re.sub(r"\$(\d)", lambda m: match.group(int(m.group(1))) or "", target)
            assert "L" in flags
            return int(flags.get("R", "302")), url
    raise AssertionError(f"no rule for {iri}")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    from patternkg.converter.api import build
    from patternkg.server.app import create_app
    from patternkg.server.config import ServerConfig

    store = tmp_path_factory.mktemp("w3id") / "store"
    assert build(store=store).ok
    application = create_app(ServerConfig(store=store, workers=1), pool_size=1)
    yield application
    application.extensions["patternkg"].pool.close()


def minted(app) -> list[str]:
    from patternkg.converter.storedir import open_store

    store = open_store(app.extensions["patternkg"].config.store)
    iris = {q.subject.value.split("#")[0] for q in store
            if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(W3ID)}
    return sorted(iris)


def test_rules_are_the_w3id_format() -> None:
    text = HTACCESS.read_text()
    assert "RewriteEngine on" in text and len(rules()) >= 2
    assert resolve(W3ID) == (302, HOST + "/")
    assert resolve(W3ID + "sparql") == (302, HOST + "/sparql")


def test_every_minted_iri_resolves(app) -> None:
    from patternkg.converter.namespaces import ONTOLOGY_IRI, VOCAB

    client = app.test_client()
    iris = minted(app) + [ONTOLOGY_IRI, VOCAB]
    kinds = {urlsplit(i).path.split("/")[3] if i.count("/") > 5 else i for i in iris}
    assert len(iris) > 20 and len(kinds) >= 4, kinds
    for iri in iris:
        status, url = resolve(iri)
        assert status == 303 and url.startswith(HOST + "/patternkg/"), (iri, url)
        path = url[len(HOST):]
        for accept, media in (("text/turtle", "text/turtle"), ("application/ld+json", "application/ld+json"),
                              ("text/html", "text/html")):
            response = client.get(path, headers={"Accept": accept})
            assert response.status_code == 200, (iri, path, accept, response.status_code)
            assert response.headers["Content-Type"].startswith(media), (iri, accept, response.headers)


def test_service_routes_resolve(app) -> None:
    client = app.test_client()
    for local in ("sparql", "void", "api/queries"):
        status, url = resolve(W3ID + local)
        assert client.get(url[len(HOST):]).status_code == 200, url
    assert client.get(resolve(W3ID)[1][len(HOST):]).status_code == 200
