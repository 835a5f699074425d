"""The ontology is OWL 2 DL, checked by tools that are not ours: the OWL API's OWL 2 DL
profile checker and the HermiT reasoner, both from the HermiT.jar owlready2 ships, run
on Java (Debian's default-jre-headless, listed in .ci/apt-packages.txt).

- the ontology alone: no profile violation; HermiT (strict) finds it consistent with no
  unsatisfiable class;
- the ontology plus a sample of a library (the seed; a random sample of the shared
  corpus): no profile violation; HermiT finds it consistent with no unsatisfiable class.
  The library writes dates as ``xsd:date`` literals (``dcterms:created``,
  ``pkg:lastPruned``, ...), a datatype outside the OWL 2 datatype map, which HermiT
  refuses to parse; for the data it runs with ``--ignoreUnsupportedDatatypes``, and the
  test checks that ``xsd:date`` is the only such datatype in the sample.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest

owlready2 = pytest.importorskip("owlready2")

pytestmark = pytest.mark.skipif(shutil.which("java") is None,
                                reason="Java is not installed (.ci/apt-packages.txt lists default-jre-headless)")

ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology" / "patternkg.ttl"
CHECKER = Path(__file__).resolve().parents[1] / "owl" / "ProfileCheck.java"
HERMIT_JAR = Path(owlready2.__file__).parent / "hermit" / "HermiT.jar"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#: the OWL 2 datatype map (OWL 2 Structural Specification, section 4)
OWL2_DATATYPES = {RDF + "PlainLiteral", RDF + "XMLLiteral", RDF + "langString",
                  "http://www.w3.org/2000/01/rdf-schema#Literal", "http://www.w3.org/2002/07/owl#real",
                  "http://www.w3.org/2002/07/owl#rational"} | {XSD + t for t in (
    "decimal", "integer", "nonNegativeInteger", "nonPositiveInteger", "positiveInteger", "negativeInteger", "long",
    "int", "short", "byte", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte", "double", "float",
    "string", "normalizedString", "token", "language", "Name", "NCName", "NMTOKEN", "boolean", "hexBinary",
    "base64Binary", "anyURI", "dateTime", "dateTimeStamp")}


def ontology_triples() -> list[ox.Triple]:
    return [q.triple for q in ox.parse(ONTOLOGY.read_bytes(), format=ox.RdfFormat.TURTLE)]


def write(triples: list[ox.Triple], path: Path) -> Path:
    path.write_bytes(ox.serialize(list(dict.fromkeys(triples)), format=ox.RdfFormat.N_TRIPLES))
    return path


def profile_violations(path: Path) -> list[str]:
    done = subprocess.run(["java", "-cp", str(HERMIT_JAR), str(CHECKER), str(path)], capture_output=True, text=True,
                          timeout=600)
    assert "violations:" in done.stdout, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert (done.returncode == 0) == (lines[-1].endswith("violations: 0")), done.stdout[-2000:]
    return lines[:-1]


def hermit(path: Path, *, ignore_unsupported_datatypes: bool) -> list[str]:
    """Run HermiT through owlready2; raises when inconsistent. Returns the unsatisfiable classes."""
    world = owlready2.World()
    ontology = world.get_ontology(path.as_uri()).load(format="ntriples")
    with ontology:
        owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0,
                                       ignore_unsupported_datatypes=ignore_unsupported_datatypes)
    return [c.iri for c in world.inconsistent_classes()]


def check_with_data(data: list[ox.Triple], tmp_path: Path) -> None:
    datatypes = {t.object.datatype.value for t in data if isinstance(t.object, ox.Literal)}
    assert datatypes - OWL2_DATATYPES <= {XSD + "date"}, datatypes - OWL2_DATATYPES
    both = write(ontology_triples() + data, tmp_path / "ontology-and-data.nt")
    assert profile_violations(both) == []
    assert hermit(both, ignore_unsupported_datatypes=True) == []


def describe(store: ox.Store, patterns: list[str]) -> list[ox.Triple]:
    """The patterns, their #fragment nodes, the library resources they name and the dataset."""
    out: list[ox.Triple] = []
    for iri in patterns:
        out += store.query(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{
            {{ BIND(<{iri}> AS ?s) }} UNION {{ <{iri}> ?l ?s FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{iri}#")) }}
            ?s ?p ?o }}""")
    named = {t.object for t in out if isinstance(t.object, ox.NamedNode) and "/library/" in t.object.value
             and "/library/pattern/" not in t.object.value}
    for node in sorted(named, key=str) + [ox.NamedNode("https://w3id.org/patternkg/library/dataset")]:
        out += [q.triple for q in store.quads_for_pattern(node, None, None)]
    return out


def test_the_ontology_is_owl2_dl_and_satisfiable(tmp_path: Path) -> None:
    path = write(ontology_triples(), tmp_path / "ontology.nt")
    assert profile_violations(path) == []
    assert hermit(path, ignore_unsupported_datatypes=False) == []  # strict: every datatype in the map


def test_the_checks_catch_what_they_should(tmp_path: Path) -> None:
    """The checkers are not vacuous: the old xsd:date range is refused by HermiT, an OWL
    keyword used as a class is a profile violation, and a contradiction is found."""
    pkg = "https://w3id.org/patternkg/ontology#"
    rdfs = "http://www.w3.org/2000/01/rdf-schema#"
    date_range = ontology_triples() + [ox.Triple(ox.NamedNode(pkg + "lastPruned"), ox.NamedNode(rdfs + "range"),
                                                 ox.NamedNode(XSD + "date"))]
    with pytest.raises(owlready2.OwlReadyJavaError, match="datatype map"):
        hermit(write(date_range, tmp_path / "date.nt"), ignore_unsupported_datatypes=False)
    keyword = ontology_triples() + [ox.Triple(ox.NamedNode(pkg + "relationshipKind"), ox.NamedNode(rdfs + "range"),
                                              ox.NamedNode("http://www.w3.org/2002/07/owl#ObjectProperty"))]
    assert profile_violations(write(keyword, tmp_path / "keyword.nt"))
    disjoint = ontology_triples() + [
        ox.Triple(ox.NamedNode(pkg + "Pattern"), ox.NamedNode("http://www.w3.org/2002/07/owl#disjointWith"),
                  ox.NamedNode(pkg + "Entity")),
        ox.Triple(ox.NamedNode(pkg + "Entity"), ox.NamedNode(rdfs + "subClassOf"), ox.NamedNode(pkg + "Pattern")),
    ]
    assert pkg + "Entity" in hermit(write(disjoint, tmp_path / "disjoint.nt"), ignore_unsupported_datatypes=False)


def test_ontology_and_the_seed(seed_converted, tmp_path: Path) -> None:
    store = seed_converted.store
    patterns = [r[0].value for r in store.query("SELECT ?p WHERE { ?p a <https://w3id.org/patternkg/ontology#Pattern> }")]
    check_with_data(describe(store, patterns), tmp_path)


@pytest.mark.corpus
@pytest.mark.slow
def test_ontology_and_a_sample_of_the_corpus(corpus_store_dir, tmp_path: Path) -> None:
    from patternkg.converter.storedir import open_store

    store = open_store(corpus_store_dir[0])
    patterns = [r[0].value for r in store.query(
        "SELECT ?p WHERE { ?p a <https://w3id.org/patternkg/ontology#Pattern> } ORDER BY ?p")]
    check_with_data(describe(store, random.Random(7).sample(patterns, 5)), tmp_path)
