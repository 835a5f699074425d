"""Several libraries in one store (converter/libraries.py): named graphs, same-pattern links,
per-library duplicates, the VoID of the whole, metadata, dumps and the command line."""

from __future__ import annotations

import json
import sqlite3

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from patternkg.cli import main
from patternkg.converter.api import convert, export
from patternkg.converter.libraries import (
    LibraryError, LibrarySpec, links_graph, load_libraries, parse_library,
)
from patternkg.converter.namespaces import DEFAULT_BASE_IRI, PKG, SKOS, VOID
from patternkg.converter.storedir import open_generation

WHOLE = "https://example.org/all/"


def _specs(libs):
    return [LibrarySpec("a", (libs.a,), libs.base_a), LibrarySpec("b", (libs.b,), libs.base_b)]


@pytest.fixture
def loaded(two_libraries):
    store = ox.Store()
    result = load_libraries(store, libraries=_specs(two_libraries), base_iri=WHOLE)
    return store, result, two_libraries


def _graph(store: ox.Store, iri: str) -> set[ox.Triple]:
    return {q.triple for q in store.quads_for_pattern(None, None, None, ox.NamedNode(iri))}


def test_same_patterns_are_linked_exactly_as_expected(loaded):
    store, result, libs = loaded
    links = _graph(store, links_graph(WHOLE).value)
    seen = set()
    for t in links:
        assert t.predicate.value in (SKOS + "exactMatch", SKOS + "closeMatch")
        assert ox.Triple(t.object, t.predicate, t.subject) in links  # both directions
        if t.subject.value.startswith(libs.base_a):
            assert t.object.value.startswith(libs.base_b)
            seen.add((t.subject.value.removeprefix(libs.base_a + "pattern/"), t.predicate.value.split("#")[1],
                      t.object.value.removeprefix(libs.base_b + "pattern/")))
    assert seen == libs.expected_links
    assert len(links) == 2 * len(libs.expected_links)
    assert result.links == {SKOS + "exactMatch": 4, SKOS + "closeMatch": 6}


def test_each_library_graph_holds_what_its_own_build_makes(loaded):
    store, result, libs = loaded
    for folder, base in ((libs.a, libs.base_a), (libs.b, libs.base_b)):
        alone = convert(sources=[folder], base_iri=base).store
        expected = {q.triple for q in alone}
        graph = _graph(store, base + "dataset")
        assert graph == expected
        other = libs.base_b if base == libs.base_a else libs.base_a
        assert not any(other in str(t) for t in graph)
    assert {g.value for g in store.named_graphs()} == {libs.base_a + "dataset", libs.base_b + "dataset",
                                                        links_graph(WHOLE).value}
    assert [(lib["name"], lib["files"], lib["patterns"]) for lib in result.libraries] == [("a", 7, 6), ("b", 6, 6)]


def test_duplicate_slugs_are_reported_within_a_library_only(loaded):
    _store, result, libs = loaded
    duplicates = [d for d in result.report.diagnostics if d.code in ("duplicate-slug", "duplicate-id")]
    assert len(duplicates) == 1
    assert duplicates[0].code == "duplicate-slug" and str(libs.a) in duplicates[0].file
    assert "twice-in-a" in duplicates[0].message
    assert list(result.report.duplicate_patterns) == ["a/twice-in-a"]
    assert result.report.ok


def test_the_whole_is_a_void_superset_of_the_libraries(loaded):
    store, result, libs = loaded
    whole = ox.NamedNode(WHOLE + "dataset")
    default = {q.triple for q in store.quads_for_pattern(None, None, None, ox.DefaultGraph())}
    subsets = {t.object.value for t in default if t.subject == whole and t.predicate.value == VOID + "subset"}
    assert subsets == {libs.base_a + "dataset", libs.base_b + "dataset", links_graph(WHOLE).value}
    linkset = ox.NamedNode(links_graph(WHOLE).value)
    assert ox.Triple(linkset, ox.NamedNode(VOID + "triples"),
                     ox.Literal("10", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))) in default
    # each library's own description is in its own graph
    for base, patterns in ((libs.base_a, 6), (libs.base_b, 6)):
        ds = ox.NamedNode(base + "dataset")
        counts = [q.object.value for q in store.quads_for_pattern(ds, ox.NamedNode(PKG + "patternCount"), None, ds)]
        assert counts == [str(patterns)]
    assert result.report.triples == len(store)


def test_cli_build_records_the_libraries_and_dumps_keep_the_graphs(two_libraries, tmp_path):
    libs = two_libraries
    target = tmp_path / "store"
    run = CliRunner().invoke(main, ["build", "--store", str(target), "-q", "--base-iri", WHOLE,
                                    "--library", f"a={libs.a}@{libs.base_a}",
                                    "--library", f"b={libs.b}@{libs.base_b}"])
    assert run.exit_code == 0, run.output
    meta = open_generation(target).metadata
    assert [(lib["name"], lib["base_iri"], lib["graph"]) for lib in meta["libraries"]] == [
        ("a", libs.base_a, libs.base_a + "dataset"), ("b", libs.base_b, libs.base_b + "dataset")]
    assert meta["links_graph"] == links_graph(WHOLE).value
    assert meta["links"] == {SKOS + "closeMatch": 6, SKOS + "exactMatch": 4}
    assert meta["base_iri"] == WHOLE
    store = ox.Store.read_only(str(open_generation(target).store_path))
    quads = set(store)
    nquads = set(ox.parse(export(format="nquads", store=store), format=ox.RdfFormat.N_QUADS))
    assert nquads == quads
    trig = set(ox.parse(export(format="trig", store=store), format=ox.RdfFormat.TRIG))
    assert trig == quads
    triples = set(ox.parse(export(format="ntriples", store=store), format=ox.RdfFormat.N_TRIPLES))
    assert {q.triple for q in triples} == {q.triple for q in quads}
    turtle = set(ox.parse(export(format="turtle", store=store), format=ox.RdfFormat.TURTLE))
    assert {q.triple for q in turtle} == {q.triple for q in quads}
    # the sidecars see every library (they are written over the union of the graphs)
    from patternkg.converter.search_index import FILENAME

    db = sqlite3.connect(open_generation(target).directory / FILENAME)
    assert db.execute("SELECT count(*) FROM patterns").fetchone()[0] == 12


def test_single_library_build_has_no_named_graph_and_no_library_metadata(tmp_path):
    run = CliRunner().invoke(main, ["build", "--store", str(tmp_path / "s"), "-q"])
    assert run.exit_code == 0, run.output
    meta = open_generation(tmp_path / "s").metadata
    assert "libraries" not in meta and meta["base_iri"] == DEFAULT_BASE_IRI
    store = ox.Store.read_only(str(open_generation(tmp_path / "s").store_path))
    assert list(store.named_graphs()) == []


@pytest.mark.parametrize("args, message", [
    (["--library", "a=DIR@https://x.example/", "SOURCE"], "not both"),
    (["--library", "a=DIR"], "expected NAME=DIR@BASE_IRI"),
    (["--library", "a=DIR@https://x.example/", "--library", "a=DIR@https://y.example/"], "given twice"),
    (["--library", "a=DIR@https://x.example/", "--library", "b=DIR@https://x.example/"], "needs its own"),
    (["--library", f"a=DIR@{DEFAULT_BASE_IRI}"], "needs its own"),
    (["--library", "a b=DIR@https://x.example/"], "a name is"),
    (["--library", "a=NOWHERE@https://x.example/"], "no such file"),
])
def test_cli_refuses_what_cannot_be_built(two_libraries, tmp_path, args, message):
    args = [str(two_libraries.a) if a == "SOURCE" else a.replace("DIR", str(two_libraries.a)) for a in args]
    run = CliRunner().invoke(main, ["build", "--store", str(tmp_path / "s"), *args])
    assert run.exit_code == 2
    assert message in run.output
    assert not (tmp_path / "s").exists()


def test_parse_library_reads_at_signs_in_folders_and_iris():
    spec = parse_library("lib=some@folder,other@https://user@host.example/lib")
    assert spec.name == "lib"
    assert [str(p) for p in spec.sources] == ["some@folder", "other"]
    assert spec.base_iri == "https://user@host.example/lib/"
    with pytest.raises(LibraryError):
        parse_library("lib=folder@https://bad iri/")


def test_report_lists_the_libraries(loaded):
    _store, result, _libs = loaded
    text = result.report.to_text()
    assert "library a: 7 files, 6 patterns" in text and "links between libraries: closeMatch: 6, exactMatch: 4" in text
    data = json.loads(result.report.to_json())
    assert [lib["name"] for lib in data["libraries"]] == ["a", "b"]


@pytest.mark.slow
@pytest.mark.corpus
def test_corpus_and_a_subset_of_it_under_another_base(corpus_dir, corpus_store_dir, tmp_path):
    """The shared corpus as one library, a subset of it (some ids removed) as another: the links
    are counted independently with SPARQL over the two graphs."""
    subset = tmp_path / "subset"
    subset.mkdir()
    files = sorted(p for p in corpus_dir.rglob("*.md"))[::10]
    for i, path in enumerate(files):
        text = path.read_text(encoding="utf-8", errors="replace")
        if i % 3 == 0:  # without its id, a pattern is the same only by slug
            text = "\n".join(line for line in text.split("\n") if not line.startswith("id:"))
        (subset / f"{i:04d}-{path.name}").write_text(text, encoding="utf-8")
    base_a, base_b = "https://commons.example/os/", "https://mirror.example/subset/"
    store = ox.Store(str(tmp_path / "store"))
    result = load_libraries(store, libraries=[LibrarySpec("commons-os", (corpus_dir,), base_a),
                                              LibrarySpec("subset", (subset,), base_b)], base_iri=WHOLE)
    graph_a, graph_b, links = f"<{base_a}dataset>", f"<{base_b}dataset>", f"<{links_graph(WHOLE).value}>"
    pairs = """SELECT (COUNT(*) AS ?n) WHERE {{ {{ SELECT DISTINCT ?a ?b WHERE {{
      GRAPH {ga} {{ ?a a <{pkg}Pattern> ; <{pkg}slug> ?sa . OPTIONAL {{ ?a <http://purl.org/dc/terms/identifier> ?ia }} }}
      GRAPH {gb} {{ ?b a <{pkg}Pattern> ; <{pkg}slug> ?sb . OPTIONAL {{ ?b <http://purl.org/dc/terms/identifier> ?ib }} }}
      FILTER({cond}) }} }} }}"""
    same_id = "BOUND(?ia) && ?ia = ?ib"
    only_slug = f"?sa = ?sb && NOT EXISTS {{ GRAPH {graph_a} {{ ?a <http://purl.org/dc/terms/identifier> ?x }} " \
                f"GRAPH {graph_b} {{ ?b <http://purl.org/dc/terms/identifier> ?x }} }}"

    def count(query: str) -> int:
        return int(next(iter(store.query(query)))[0].value)

    expected_exact = count(pairs.format(ga=graph_a, gb=graph_b, pkg=PKG, cond=same_id))
    expected_close = count(pairs.format(ga=graph_a, gb=graph_b, pkg=PKG, cond=only_slug))
    found = {p: count(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {links} {{ ?a <{SKOS}{p}> ?b }} "
                      f"FILTER(STRSTARTS(STR(?a), \"{base_a}\")) }}") for p in ("exactMatch", "closeMatch")}
    assert found == {"exactMatch": expected_exact, "closeMatch": expected_close}
    assert expected_exact > 0 and expected_close > 0
    assert result.links[SKOS + "exactMatch"] == 2 * expected_exact
    # the corpus's graph is what a single-library build of it holds
    _target, alone = corpus_store_dir
    by_name = {lib["name"]: lib for lib in result.libraries}
    assert by_name["commons-os"]["triples"] == alone.triples
    assert count(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {graph_a} {{ ?s ?p ?o }} }}") == alone.triples
    assert by_name["commons-os"]["patterns"] == alone.patterns
    assert by_name["subset"]["files"] == len(files)
    # duplicates are those of each library alone: none is reported across the two
    assert len(result.report.duplicate_patterns) == len(alone.duplicate_patterns) + sum(
        1 for k in result.report.duplicate_patterns if k.startswith("subset/"))
    assert all(k.startswith(("commons-os/", "subset/")) for k in result.report.duplicate_patterns)
