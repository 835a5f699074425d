"""Every dump and every content-negotiated document, re-read by independent parsers:
N3.js (Turtle, N-Triples, N-Quads, TriG) and jsonld.js in JSON-LD 1.0 *and* 1.1
processing mode, called through ``node tests/js/parse.mjs``. Each must accept the
document and give the same triples as pyoxigraph reads from it (blank nodes compared
by shape).

The parsers come from npm (``tests/js/package.json`` + ``package-lock.json``);
``.ci/run`` installs them with ``npm ci``. Without them the tests skip and say so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from pkserver_helpers import Server

JS = Path(__file__).resolve().parents[1] / "js"
B = "https://w3id.org/patternkg/library/"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (JS / "node_modules" / "n3").is_dir()
    or not (JS / "node_modules" / "jsonld").is_dir(),
    reason="the npm parsers are not installed: run `npm ci` in tests/js (.ci/run does)",
)

#: media type -> (pyoxigraph format, the parse.mjs formats that must accept it)
MEDIA = {
    "text/turtle": (ox.RdfFormat.TURTLE, ("turtle",)),
    "application/n-triples": (ox.RdfFormat.N_TRIPLES, ("ntriples",)),
    "application/n-quads": (ox.RdfFormat.N_QUADS, ("nquads",)),
    "application/trig": (ox.RdfFormat.TRIG, ("trig",)),
    "application/ld+json": (ox.RdfFormat.JSON_LD, ("jsonld-1.0", "jsonld-1.1")),
}
DUMPS = {"library.ttl": "text/turtle", "library.nt": "application/n-triples", "library.nq": "application/n-quads",
         "library.trig": "application/trig", "library.jsonld": "application/ld+json"}
DOCUMENTS = [
    "/pattern/distributed-organizing", "/domain/deep-work-flow", "/commons-domain/life",
    "/community/systems-thinking", "/entity/adaptive-leadership", "/agent/cloudsters", "/scheme/domains",
    "/dataset", "/void", "/ontology", "/ontology/0.1.0", "/vocab/", "/vocab/status", "/vocab/status/draft",
    "/patternkg/library/pattern/distributed-organizing",
]


class Reread:
    """Documents collected for the node parsers, checked in one ``node`` run (its start-up,
    with jsonld.js loaded, costs about half a second)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.jobs: list[tuple[str, str, str]] = []
        self.expected: dict[str, list[str]] = {}

    def add(self, content: bytes, media: str, name: str) -> int:
        fmt, node_formats = MEDIA[media]
        path = self.folder / name
        path.write_bytes(content)
        expected = shape(list(ox.parse(content, format=fmt)))
        assert expected, name
        for node_format in node_formats:
            out = self.folder / f"{name}.{node_format}.nq"
            self.jobs.append((node_format, str(path), str(out)))
            self.expected[str(out)] = expected
        return len(expected)

    def check(self) -> None:
        jobs = self.folder / "jobs.json"
        jobs.write_text(json.dumps(self.jobs))
        done = subprocess.run(["node", str(JS / "parse.mjs"), str(jobs)], capture_output=True, timeout=1200)
        assert done.returncode == 0, done.stderr.decode()
        for node_format, source, out in self.jobs:
            error = Path(out + ".error")
            assert not error.exists(), f"{node_format} rejected {Path(source).name}: {error.read_text()}"
            got = shape(list(ox.parse(Path(out).read_bytes(), format=ox.RdfFormat.N_QUADS)))
            expected = self.expected[out]
            assert got == expected, f"{node_format} reads {Path(source).name} differently ({len(got)} vs {len(expected)})"


def shape(quads: list[ox.Quad]) -> list[str]:
    """The quads as sorted N-Quads lines with every blank node label replaced by one marker."""
    return sorted(_BLANK.sub("_:b", str(q)) if "_:" in str(q) else str(q) for q in quads)


_BLANK = re.compile(r"_:[A-Za-z0-9_.-]+")


def test_every_dump(seed_server: Server, tmp_path: Path) -> None:
    reread = Reread(tmp_path)
    for name, media in DUMPS.items():
        r = requests.get(seed_server.url + "/dumps/" + name, timeout=60)
        assert r.status_code == 200 and r.headers["Content-Type"].split(";")[0] == media
        assert reread.add(r.content, media, name) > 300
    reread.check()


def test_every_content_negotiated_document(seed_server: Server, tmp_path: Path) -> None:
    reread = Reread(tmp_path)
    for path in DOCUMENTS:
        for media in ("text/turtle", "application/n-triples", "application/ld+json"):
            r = requests.get(seed_server.url + path, headers={"Accept": media}, timeout=60)
            assert r.status_code == 200 and r.headers["Content-Type"].split(";")[0] == media, (path, media)
            reread.add(r.content, media, path.strip("/").replace("/", "_") + "." + media.split("/")[1])
    for media in ("text/turtle", "application/ld+json"):
        r = requests.get(seed_server.url + "/pattern/abundance-vs-scarcity-mindset", headers={"Accept": media},
                         timeout=60)
        assert r.status_code == 404
        reread.add(r.content, media, "missing." + media.split("/")[1])
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), \"{B}pattern/\")) }}"
    for media in MEDIA:
        r = requests.post(seed_server.sparql, data={"query": query}, headers={"Accept": media}, timeout=60)
        assert r.status_code == 200 and r.headers["Content-Type"].split(";")[0] == media, media
        assert reread.add(r.content, media, "construct." + media.split("/")[1]) > 100
    reread.check()


@pytest.mark.corpus
@pytest.mark.slow
def test_every_corpus_dump(corpus_store_dir, tmp_path: Path) -> None:
    """The Turtle and JSON-LD dumps of the real corpus (about 185,000 triples; the other
    formats are covered on the seed, which keeps this test under a minute)."""
    from patternkg.converter.api import export

    reread = Reread(tmp_path)
    for name, media in DUMPS.items():
        if not name.endswith((".ttl", ".jsonld")):
            continue
        fmt = {"ttl": "turtle", "nt": "ntriples", "nq": "nquads", "trig": "trig", "jsonld": "jsonld"}[name.split(".")[1]]
        content = export(format=fmt, store=corpus_store_dir[0])
        assert reread.add(content, media, name) > 180_000
    reread.check()
