"""A crawler over the shared corpus: every IRI the converter mints in it is of a kind
that has a route, and a sample of every kind dereferences with 200 in Turtle and
JSON-LD (describing the IRI), over real HTTP from the real server.

Kinds: patterns (with a file), referenced patterns without a file (404 with their
referrers), domains, commons domains, communities, entities, agents, schemes, the
dataset, vocabulary concepts and schemes, the ontology (and its terms, its
versionIRI, its rdfs:seeAlso). ``#fragment`` IRIs are checked inside the document of
the IRI before the ``#``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

import patternkg
from pkserver_helpers import Server, start_server, stop_server

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

ROOT = "https://w3id.org/patternkg/"
B = ROOT + "library/"
PKG_PATTERN = ROOT + "ontology#Pattern"
SAMPLE = 12
FORMATS = {"text/turtle": ox.RdfFormat.TURTLE, "application/ld+json": ox.RdfFormat.JSON_LD}


@pytest.fixture(scope="module")
def corpus_server(corpus_store_dir, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # the last --max-rows wins: the crawler lists every IRI of the graph in one answer
    srv = start_server(corpus_store_dir[0], tmp_path_factory.mktemp("crawler"), "--max-rows", "2000000", timeout=60.0)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def kinds(corpus_server: Server) -> dict[str, list[str]]:
    return minted(corpus_server)


def minted(server: Server) -> dict[str, list[str]]:
    """Every IRI under https://w3id.org/patternkg/ in the graph and in the ontology (subjects and
    objects), grouped by kind."""
    rows = server.select(f"""SELECT DISTINCT ?iri ?pattern WHERE {{
        {{ ?iri ?p ?o }} UNION {{ ?s ?p ?iri }}
        FILTER(isIRI(?iri) && STRSTARTS(STR(?iri), "{ROOT}"))
        BIND(EXISTS {{ ?iri a <{PKG_PATTERN}> }} AS ?pattern)
    }}""")
    ontology = requests.get(server.url + "/ontology", headers={"Accept": "application/n-triples"}, timeout=30)
    extra = {term.value for q in ox.parse(ontology.content, format=ox.RdfFormat.N_TRIPLES)
             for term in (q.subject, q.object) if isinstance(term, ox.NamedNode) and term.value.startswith(ROOT)}
    kinds: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        iri = row["iri"]["value"]
        described_pattern = row["pattern"]["value"] == "true"
        kinds[kind_of(iri, described_pattern)].append(iri)
    for iri in extra:
        kinds[kind_of(iri, False)].append(iri)
    return kinds


def kind_of(iri: str, described_pattern: bool) -> str:
    if "#" in iri:
        return "fragment"
    rest = iri[len(ROOT):]
    if rest.startswith("library/"):
        segment = rest[len("library/"):].split("/", 1)[0]
        if segment == "pattern":
            return "pattern" if described_pattern else "missing-pattern"
        return segment
    if rest.startswith("vocab/"):
        depth = rest.rstrip("/").count("/")
        return {0: "vocab-root", 1: "vocab-scheme", 2: "vocab-concept"}[depth]
    if rest.startswith("ontology"):
        return "ontology"
    return "unknown:" + rest


def local_path(iri: str) -> str:
    return "/patternkg/" + iri[len(ROOT):]


def sample(iris: list[str], n: int = SAMPLE) -> list[str]:
    ordered = sorted(set(iris))
    return ordered if len(ordered) <= n else random.Random(13).sample(ordered, n)


def test_every_minted_iri_is_of_a_routed_kind_and_a_sample_of_each_dereferences(
        corpus_server: Server, kinds: dict[str, list[str]]) -> None:
    routed = {"pattern", "missing-pattern", "domain", "commons-domain", "community", "entity", "agent", "scheme",
              "dataset", "vocab-root", "vocab-scheme", "vocab-concept", "ontology", "fragment"}
    assert set(kinds) <= routed, sorted(set(kinds) - routed)
    assert {"pattern", "missing-pattern", "domain", "commons-domain", "community", "entity", "agent", "scheme",
            "dataset", "vocab-root", "vocab-scheme", "vocab-concept", "ontology"} <= set(kinds)
    checked = 0
    for kind, iris in sorted(kinds.items()):
        if kind in ("fragment", "missing-pattern"):
            continue
        for iri in sample(iris):
            for media, fmt in FORMATS.items():
                # the dataset's first answer writes the five dumps (size and checksum): minutes on a busy machine
                r = requests.get(corpus_server.url + local_path(iri), headers={"Accept": media},
                                 timeout=900 if kind == "dataset" else 60)
                assert r.status_code == 200, (kind, iri, media, r.text[:300])
                assert r.headers["Content-Type"].split(";")[0] == media
                subjects = {q.subject for q in ox.parse(r.content, format=fmt)}
                document = iri if kind != "ontology" else ROOT + "ontology"
                assert ox.NamedNode(iri) in subjects or ox.NamedNode(document) in subjects, (kind, iri, media)
                checked += 1
    assert checked >= 2 * 10 * 5


def test_fragments_are_described_in_their_documents(corpus_server: Server, kinds: dict[str, list[str]]) -> None:
    fragments = kinds["fragment"]
    for iri in sample(fragments, 30):
        document = iri.split("#", 1)[0]
        r = requests.get(corpus_server.url + local_path(document), headers={"Accept": "application/n-triples"},
                         timeout=60)
        assert r.status_code == 200, iri
        subjects = {q.subject for q in ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES)}
        assert ox.NamedNode(iri) in subjects, iri


def test_referenced_patterns_without_a_file_are_404_with_their_referrers(
        corpus_server: Server, kinds: dict[str, list[str]]) -> None:
    missing = kinds["missing-pattern"]
    assert len(missing) > 100  # the sample corpus names hundreds of patterns it does not hold
    for iri in sample(missing):
        for media, fmt in FORMATS.items():
            r = requests.get(corpus_server.url + local_path(iri), headers={"Accept": media}, timeout=60)
            assert r.status_code == 404 and r.headers["Content-Type"].startswith(media), iri
            triples = [q.triple for q in ox.parse(r.content, format=fmt)]
            assert any(t.object == ox.NamedNode(iri) and t.subject != ox.NamedNode(iri) for t in triples), iri


ENGINEERING = Path(__file__).resolve().parent.parent / "converter" / "fixtures" / "engineering"


@pytest.fixture(scope="module")
def engineering_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The commons.engineering fixtures (collections, rings, 7Cs arc stages): a small library, served."""
    tmp = tmp_path_factory.mktemp("engineering")
    patternkg.build(store=tmp / "store", sources=[ENGINEERING])
    srv = start_server(tmp / "store", tmp, timeout=60.0)
    yield srv
    stop_server(srv)


@pytest.mark.parametrize("media", ["text/turtle", "text/html"])
def test_every_iri_of_the_engineering_dialect_dereferences(engineering_server: Server, media: str) -> None:
    """Every IRI minted from the third dialect, not a sample: collections and rings included."""
    kinds = minted(engineering_server)
    assert {"collection", "pattern", "vocab-concept"} <= set(kinds), sorted(kinds)
    for kind, iris in sorted(kinds.items()):
        if kind in ("fragment", "missing-pattern", "dataset") or kind.startswith("ontology"):
            continue
        for iri in sorted(set(iris)):
            r = requests.get(engineering_server.url + local_path(iri), headers={"Accept": media}, timeout=60)
            assert r.status_code == 200, (kind, iri, media, r.text[:300])
            assert r.headers["Content-Type"].split(";")[0] == media, (kind, iri)
            if media == "text/turtle":
                subjects = {q.subject for q in ox.parse(r.content, format=ox.RdfFormat.TURTLE)}
                assert ox.NamedNode(iri) in subjects, (kind, iri)


def test_a_collection_page_lists_its_patterns_and_rings(engineering_server: Server) -> None:
    r = requests.get(engineering_server.url + "/patternkg/library/collection/commons-engineer",
                     headers={"Accept": "text/html"}, timeout=60)
    assert r.status_code == 200
    assert "Patterns in this collection" in r.text
    assert 'href="/patternkg/library/pattern/pay-what-you-harvest"' in r.text \
        or 'href="/pattern/pay-what-you-harvest"' in r.text, r.text[:2000]
    assert "/collection/c3-capital" in r.text  # the ring, a member of this collection
    ttl = requests.get(engineering_server.url + "/patternkg/library/collection/commons-engineer",
                       headers={"Accept": "text/turtle"}, timeout=60)
    graph = {q.triple for q in ox.parse(ttl.content, format=ox.RdfFormat.TURTLE)}
    collection = ox.NamedNode(B + "collection/commons-engineer")
    assert ox.Triple(collection, ox.NamedNode("http://www.w3.org/2004/02/skos/core#member"),
                     ox.NamedNode(B + "pattern/seed-library-circle")) in graph
