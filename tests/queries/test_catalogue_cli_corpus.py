"""The catalogue's load-time checks and typed binding, the CLI, and every query over the shared corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qhelpers import CORPUS, LIBRARY, P
from patternkg.converter.storedir import open_store

HEADER = """#+ name: probe
#+ title: Probe
#+ description: every parameter type once
#+ params:
#+   - {name: i, type: iri, required: true}
#+   - {name: n, type: number, required: false, default: 0.5}
#+   - {name: b, type: boolean, required: false, default: false}
#+ columns:
#+   - {name: i}
#+   - {name: n}
#+   - {name: b}
"""
BODY = "SELECT ?i ?n ?b WHERE { VALUES ?i { UNDEF } VALUES ?n { UNDEF } VALUES ?b { UNDEF } }\n"


def write(tmp_path: Path, text: str, name: str = "probe") -> Path:
    (tmp_path / f"{name}.rq").write_text(text, encoding="utf-8")
    return tmp_path


def test_all_types_parse_bind_and_run(tmp_path):
    from pyoxigraph import Store

    from patternkg.server.catalogue import ParameterError, load_catalogue
    from patternkg.server.prepared import PreparedQueries, store_runner

    pq = PreparedQueries(store_runner(Store()), catalogue=load_catalogue(write(tmp_path, HEADER + BODY)))
    answer = pq.run("probe", {"i": "https://example.org/x", "b": "yes"})
    assert answer.rows(answer.bindings) == [{"i": "https://example.org/x", "n": 0.5, "b": True}]
    assert 'VALUES ?n { "0.5"^^<http://www.w3.org/2001/XMLSchema#decimal> }' in answer.sparql
    for raw, parameter in [({"i": "not an iri"}, "i"), ({"i": "https://e.org/", "n": "nan"}, "n"),
                           ({"i": "https://e.org/", "b": "maybe"}, "b"), ({"i": "https://e.org/> } <x"}, "i")]:
        with pytest.raises(ParameterError) as info:
            pq.run("probe", raw)
        assert info.value.parameter == parameter


@pytest.mark.parametrize(("text", "message"), [
    (HEADER + "SELECT ?i ?n ?b WHERE { VALUES ?i { UNDEF } VALUES ?n { UNDEF } }\n", "placeholder for ['b']"),
    (HEADER + BODY.replace("?b WHERE", "?b ?c WHERE"), "declared columns"),
    (HEADER + BODY.replace("WHERE {", "WHERE {{"), "syntax error"),
    (HEADER.replace("type: number", "type: float"), "type must be one of"),
    (HEADER.replace("name: probe", "name: other") + BODY, "differs from the file name"),
    (HEADER + BODY + "VALUES ?z { UNDEF }", "without a declared parameter"),
    (HEADER + BODY.replace("WHERE {", "WHERE {\n#PAGE\n#PAGE\n"), "more than one #PAGE"),
    (HEADER + "SELECT ?i ?n ?b WHERE { { SELECT ?i ?n ?b WHERE { VALUES ?i { UNDEF } VALUES ?n { UNDEF } "
              "VALUES ?b { UNDEF } } ORDER BY ?i\n#PAGE\n} }\n", "must end with the sub-select's ORDER BY"),
])
def test_broken_query_files_stop_loading(tmp_path, text, message):
    from patternkg.server.catalogue import CatalogueError, load_catalogue

    with pytest.raises(CatalogueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_catalogue(write(tmp_path, text))


def test_bundled_catalogue_names_and_dimensions():
    from patternkg.converter.namespaces import ASSESSMENT_DIMENSIONS
    from patternkg.server.catalogue import load_catalogue

    catalogue = load_catalogue()
    assert len(catalogue) == 13
    dimension = catalogue["top-assessed"].parameter("dimension")
    assert set(dimension.enum) == {"overall", *ASSESSMENT_DIMENSIONS}
    for local in ASSESSMENT_DIMENSIONS.values():
        assert f"pkg:{local})" in catalogue["top-assessed"].sparql


def test_cli_queries_lists_everything():
    from patternkg.cli import main

    result = CliRunner().invoke(main, ["queries"])
    assert result.exit_code == 0
    assert "enablers" in result.output and "target=pattern [domain=domain]" in result.output
    assert result.output.count("\n") >= 13


def test_cli_query_formats(library_store):
    from patternkg.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["query", "similar", "--param", "pattern=alpha", "--format", "json",
                                  "--store", str(library_store)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"] == 3 and [r["slug"] for r in data["rows"]] == ["epsilon", "beta", "gamma"]
    result = runner.invoke(main, ["query", "community", "-p", "community=c-blue", "--format", "csv", str(LIBRARY)])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["pattern,slug,title,confidence", f"{P('gamma')},gamma,Gamma Loop,0.9",
                                          f"{P('epsilon')},epsilon,Epsilon Rotation,0.5"]
    result = runner.invoke(main, ["query", "top-assessed", "-p", "dimension=resilience", "-p", "limit=2",
                                  "--store", str(library_store)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["pattern", "slug", "title", "score", "overall_score"] and len(lines) == 4
    assert "beta" in lines[2] and "alpha" in lines[3]


def test_cli_errors(library_store):
    from patternkg.cli import main

    runner = CliRunner()
    bad = runner.invoke(main, ["query", "path", "-p", "from=alpha", "--store", str(library_store)])
    assert bad.exit_code == 2 and "parameter 'to' is required" in bad.output
    missing = runner.invoke(main, ["query", "neighbours", "-p", "pattern=named-nowhere", "--store", str(library_store)])
    assert missing.exit_code == 3 and "no pattern 'named-nowhere'" in missing.output
    assert runner.invoke(main, ["query", "nope", "--store", str(library_store)]).exit_code == 2


@pytest.mark.corpus
def test_every_query_over_the_shared_corpus(corpus_store_dir):
    """Each query runs on the real corpus and its answers hang together."""
    if not CORPUS.is_dir():
        pytest.skip("shared corpus absent")

    from patternkg.server.prepared import PreparedQueries, store_runner

    pq = PreparedQueries(store_runner(open_store(corpus_store_dir[0])))

    def run(name, **params):
        answer = pq.run(name, params)
        return answer.rows(answer.bindings)

    stats = run("stats")
    patterns = next(r["count"] for r in stats if r["facet"] == "type" and r["name"] == "Pattern")
    assert patterns > 900
    assert sum(r["count"] for r in stats if r["facet"] == "dialect") == patterns
    # a pattern with curated requires/enables and garden data, found by the queries themselves
    one_sided = run("one-sided-relations")
    assert one_sided and all(r["slug"] != r["target_slug"] for r in one_sided)
    slug = one_sided[0]["slug"]
    neighbours = run("neighbours", pattern=slug)
    assert any(r["slug"] == one_sided[0]["target_slug"] and r["direction"] == "out" for r in neighbours)
    for row in run("requirements", pattern="knowing-when-to-quit"):
        assert row["depth"] is None or 1 <= row["depth"] <= 8
    enablers = run("enablers", target="acceptance-and-commitment")
    assert enablers and all(r["source"] in ("curated", "inferred") for r in enablers)
    domain = next(r["value"].rsplit("/", 1)[1] for r in stats if r["facet"] == "domain")
    assert run("by-domain", domain=domain)
    top = run("top-assessed", dimension="resilience")
    assert [r["score"] for r in top] == sorted((r["score"] for r in top), reverse=True)
    assert run("community", community="systems-thinking")
    similar = run("similar", pattern=slug)
    assert all(r["score"] == r["shared_entities"] + r["shared_communities"] for r in similar)
    assert run("path", **{"from": "just-in-time-jit", "to": "dmaic-six-sigma-methodology", "max": "2"})
    dangling = run("dangling-references")
    assert dangling and all(r["token"] == r["target"].rsplit("/", 1)[1] for r in dangling)
    queue = run("review-queue")
    assert [r["confidence"] for r in queue if r["confidence"] is not None] == sorted(
        (r["confidence"] for r in queue if r["confidence"] is not None), reverse=True)
    assert any(r["match"] == "title" for r in run("search", text="trust"))
