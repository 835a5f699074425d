"""A library with control characters and CRLF line ends: served in every format, none malformed.

The library is built with the real converter (``patternkg build``) into a store
directory and served by the real server over loopback; every SPARQL results format
and every RDF format is parsed by an independent parser (expat for XML, the csv and
json modules, rdflib), and no answer carries a control character or a ``\\r``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import rdflib
import requests
from pkserver_helpers import Server, start_server, stop_server

from patternkg.converter.api import export

SEED = Path(__file__).resolve().parents[2] / "seeds" / "distributed-organizing.md"
#: C0 controls but tab, LF and CR, and the two noncharacters XML forbids.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

CONTROL = (b"---\r\nslug: control-characters\r\ntitle: \"Nul\\0and bell\\a\"\r\n---\r\n"
           b"# Control characters\r\n\r\n## Problem\r\n\r\nA NUL\x00 here, a bell\x07 and an escape\x1b there.\r\n"
           b"Form feed\x0c and vertical tab\x0b.\r\n")
CRLF = b"---\r\nslug: crlf-only\r\ntitle: CRLF only\r\n---\r\n# CRLF only\r\n\r\n## Problem\r\n\r\nLine one.\r\nLine two.\r\n"

LITERALS = ("SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o)) "
            "FILTER(CONTAINS(STR(?s), 'control-characters') || CONTAINS(STR(?s), 'crlf-only')) }")
GRAPH = ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o "
         "FILTER(CONTAINS(STR(?s), 'control-characters') || CONTAINS(STR(?s), 'crlf-only')) }")


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("badlib")
    lib = folder / "lib"
    lib.mkdir()
    (lib / "control-characters.md").write_bytes(CONTROL)
    (lib / "crlf-only.md").write_bytes(CRLF)
    shutil.copy(SEED, lib / SEED.name)
    return lib


@pytest.fixture(scope="module")
def built(library: Path) -> tuple[Path, str]:
    store = library.parent / "store"
    out = subprocess.run([sys.executable, "-m", "patternkg", "build", str(library), "--store", str(store)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return store, out.stderr


@pytest.fixture(scope="module")
def bad_server(built, tmp_path_factory):
    srv = start_server(built[0], tmp_path_factory.mktemp("badsrv"))
    yield srv
    stop_server(srv)


def test_the_build_names_file_and_line_of_each_control_character(built, library):
    _, stderr = built
    name = str(library / "control-characters.md")
    assert f"{name}:3: warning: control character(s) U+0000, U+0007 removed from a value [title]" in stderr
    assert f"{name}:9: warning: control character(s) U+0000, U+0007, U+001B removed from the body" in stderr
    assert f"{name}:10: warning: control character(s) U+000B, U+000C removed from the body" in stderr
    assert "crlf-only.md" not in stderr


def _clean(text: str, *, records_end_in_crlf: bool = False) -> None:
    assert not FORBIDDEN.search(text), repr(FORBIDDEN.search(text))
    if records_end_in_crlf:  # SPARQL CSV ends each row with CRLF (RFC 4180); values are checked parsed
        text = text.replace("\r\n", "")
    assert "\r" not in text


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "application/sparql-results+xml",
                                    "text/csv", "text/tab-separated-values"])
def test_every_results_format_is_well_formed(bad_server: Server, accept: str) -> None:
    r = requests.get(bad_server.sparql, params={"query": LITERALS}, headers={"Accept": accept}, timeout=30)
    assert r.status_code == 200, r.text
    text = r.content.decode("utf-8")
    _clean(text, records_end_in_crlf=accept == "text/csv")
    if accept.endswith("json"):
        values = [b["o"]["value"] for b in json.loads(text)["results"]["bindings"]]
    elif accept.endswith("xml"):
        ns = "{http://www.w3.org/2005/sparql-results#}"
        values = [lit.text or "" for lit in ET.fromstring(r.content).iter(ns + "literal")]
    else:
        values = [row[2] for row in csv.reader(io.StringIO(text, newline=""),
                                               delimiter="," if "csv" in accept else "\t")][1:]
        assert not any("\r" in v for v in values)
    assert any("A NUL here, a bell and an escape there." in v for v in values), values
    assert "Nuland bell" in " ".join(values) or '"Nuland bell"' in " ".join(values)
    assert any("Line one.\nLine two." in v for v in values) or "csv" in accept or "tab" in accept


@pytest.mark.parametrize(("accept", "fmt"), [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                              ("application/n-quads", "nquads"), ("application/rdf+xml", "xml"),
                                              ("application/ld+json", "json-ld"), ("application/trig", "trig")])
def test_every_rdf_format_is_well_formed(bad_server: Server, accept: str, fmt: str) -> None:
    r = requests.get(bad_server.sparql, params={"query": GRAPH}, headers={"Accept": accept}, timeout=30)
    assert r.status_code == 200, r.text
    _clean(r.content.decode("utf-8"))
    graph = rdflib.Dataset() if fmt in ("nquads", "trig") else rdflib.Graph()
    graph.parse(data=r.content, format=fmt)
    literals = [str(o) for _, _, o, *_ in (graph.quads() if fmt in ("nquads", "trig") else graph)
                if isinstance(o, rdflib.Literal)]
    assert "Nuland bell" in literals and any("Line one.\nLine two." in v for v in literals), literals


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "nquads", "trig", "jsonld"])
def test_every_export_format_is_clean(built, fmt: str) -> None:
    data = export(format=fmt, store=built[0])
    _clean(data.decode("utf-8"))
    assert "Nuland bell" in data.decode("utf-8")
