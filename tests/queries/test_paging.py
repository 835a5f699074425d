"""Paging runs in the store (LIMIT/OFFSET appended, total from the count form): every page of
every query equals the same slice of the whole answer, with the same total; the count/existence
cache is per PreparedQueries and only when asked for."""

from __future__ import annotations

import re

import pytest

#: one call per query over the fixture library (tests/queries/library)
CALLS = [
    ("enablers", {"target": "gamma"}),
    ("enablers", {"target": "gamma", "domain": "ecology"}),
    ("requirements", {"pattern": "alpha"}),
    ("neighbours", {"pattern": "gamma"}),
    ("by-domain", {"domain": "governance"}),
    ("top-assessed", {"dimension": "resilience"}),
    ("top-assessed", {"dimension": "overall", "domain": "ecology"}),
    ("community", {"community": "c-green"}),
    ("similar", {"pattern": "alpha"}),
    ("path", {"from": "alpha", "to": "delta"}),
    ("dangling-references", {}),
    ("one-sided-relations", {}),
    ("review-queue", {}),
    ("search", {"text": "circle"}),
    ("stats", {}),
]


@pytest.mark.parametrize(("name", "params"), CALLS, ids=[f"{n}-{len(p)}" for n, p in CALLS])
def test_every_page_is_a_slice_of_the_whole_answer(prepared, name, params):
    whole = prepared.run(name, params)
    assert whole.total == len(whole.bindings)
    n = whole.total
    for limit in (0, 1, 2, 3, n, n + 1, None):
        for offset in (0, 1, 2, n - 1, n, n + 3):
            if offset < 0:
                continue
            page = prepared.run(name, params, limit, offset)
            end = None if limit is None else offset + limit
            assert page.total == n, (limit, offset)
            assert page.bindings == whole.bindings[offset:end], (limit, offset)


def test_count_form_and_paging_words():
    from patternkg.server.catalogue import count_form, load_catalogue

    for query in load_catalogue().values():
        assert "COUNT(*) AS ?_count" in query.count_sparql
        assert not re.search(r"ORDER\s+BY[^{}]*\}\s*\}\s*$", query.count_sparql), query.name  # final ORDER BY gone
    text = "PREFIX p: <x:#>\n# a comment\nSELECT ?a WHERE { ?a ?b ?c } ORDER BY ?a # by a\n"
    assert count_form(text) == ("PREFIX p: <x:#>\n# a comment\nSELECT (COUNT(*) AS ?_count) WHERE {\n{\n"
                                "SELECT ?a WHERE { ?a ?b ?c }\n}\n}\n")
    with pytest.raises(ValueError, match="reserved for paging"):
        count_form("SELECT ?a WHERE { ?a ?b ?c } LIMIT 3")
    with pytest.raises(ValueError, match="followed by SELECT"):
        count_form("ASK { ?a ?b ?c }")


def test_own_limit_stops_loading(tmp_path):
    from patternkg.server.catalogue import CatalogueError, load_catalogue

    (tmp_path / "probe.rq").write_text("#+ name: probe\n#+ title: Probe\n#+ description: d\n#+ columns:\n"
                                       "#+   - {name: a}\nSELECT ?a WHERE { ?a ?b ?c } LIMIT 3\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="cannot be paged"):
        load_catalogue(tmp_path)


def test_totals_and_existence_are_cached_only_when_asked(prepared):
    from patternkg.server.prepared import PreparedQueries

    calls: list[str] = []
    runner = prepared.runner

    def counting_runner(text: str) -> bytes:
        calls.append(text)
        return runner(text)

    cached = PreparedQueries(counting_runner, catalogue=prepared.catalogue, cache=True)
    first = cached.run("review-queue", {}, 2, 0)
    assert first.total == 5 and len(calls) == 2  # the page, then the count
    again = cached.run("review-queue", {}, 2, 2)
    assert again.total == 5 and len(calls) == 3  # the page only
    cached.run("community", {"community": "c-green"}, 1, 0)
    cached.run("community", {"community": "c-green"}, 1, 1)
    assert sum("FILTER NOT EXISTS { ?resource a ?class }" in c for c in calls) == 1
    # a page that is not full gives the total without counting
    calls.clear()
    assert cached.run("community", {"community": "c-blue"}, 10, 0).total == 2
    assert not any("?_count" in c for c in calls)
    # without cache=True nothing is remembered
    calls.clear()
    plain = PreparedQueries(counting_runner, catalogue=prepared.catalogue)
    plain.run("review-queue", {}, 2, 0)
    plain.run("review-queue", {}, 2, 0)
    assert sum("?_count" in c for c in calls) == 2
    # a cache is per PreparedQueries (one per app, so per store)
    other = PreparedQueries(counting_runner, catalogue=prepared.catalogue, cache=True)
    calls.clear()
    other.run("review-queue", {}, 2, 0)
    assert sum("?_count" in c for c in calls) == 1


def test_page_is_cut_at_the_marker_or_appended():
    from patternkg.server.catalogue import page

    plain = "SELECT ?a WHERE { ?a ?b ?c } ORDER BY ?a\n"
    assert page(plain, 10, 20) == plain.rstrip() + "\nLIMIT 10 OFFSET 20"
    assert page(plain, None, 0) == plain
    marked = "SELECT ?a ?d WHERE {\n  { SELECT ?a WHERE { ?a ?b ?c } ORDER BY ?a\n    #PAGE\n  }\n" \
             "  OPTIONAL { ?a ?e ?d }\n} ORDER BY ?a\n"
    assert page(marked, 10, 0) == marked.replace("    #PAGE\n", "LIMIT 10 \n")
    assert page(marked, None, 5) == marked.replace("    #PAGE\n", "OFFSET 5\n")
    assert page(marked, None, 0) == marked  # unpaged, #PAGE stays a comment


def test_late_details_are_looked_up_for_the_page_only(prepared):
    """review-queue pages inside its sub-select: the text that ran has the page there and its
    outer ORDER BY re-sorts the page; the rows are those of the whole answer."""
    whole = prepared.run("review-queue", {})
    answer = prepared.run("review-queue", {}, 2, 1)
    inner, outer = answer.sparql.rsplit("}", 1)
    assert "LIMIT 2 OFFSET 1" in inner and "LIMIT" not in outer and "ORDER BY" in outer
    assert answer.bindings == whole.bindings[1:3]
