"""Every prepared query over the hand-made library (tests/queries/library/), against
answers worked out by hand from the five pattern files (see the comments)."""

from __future__ import annotations

from qhelpers import BASE, PKG, P

ENABLES, REQUIRES, COMPL, RELATED = (PKG + k for k in ("enables", "requires", "complementaryTo", "relatedTo"))


def rows(prepared, name, columns, **params):
    answer = prepared.run(name, params)
    return [tuple(r[c] for c in columns) for r in answer.rows(answer.bindings)]


def test_enablers(prepared):
    cols = ("slug", "weight", "source", "description")
    # alpha enables gamma (0.8) and delta enables gamma (no weight) are curated; alpha's garden
    # infers "enables gamma" (0.6, r1). Curated first, then by weight (unweighted last).
    assert rows(prepared, "enablers", cols, target="gamma") == [
        ("alpha", 0.8, "curated", None), ("delta", None, "curated", None), ("alpha", 0.6, "inferred", "r1")]
    # ecology: alpha has it as a cross domain; delta is governance only
    assert rows(prepared, "enablers", cols, target="gamma", domain="ecology") == [
        ("alpha", 0.8, "curated", None), ("alpha", 0.6, "inferred", "r1")]
    assert rows(prepared, "enablers", cols, target="gamma", domain="governance") == [
        ("alpha", 0.8, "curated", None), ("delta", None, "curated", None), ("alpha", 0.6, "inferred", "r1")]
    assert rows(prepared, "enablers", cols, target="alpha") == [("beta", 0.85, "curated", None)]
    # only gamma's garden says it enables epsilon
    assert rows(prepared, "enablers", ("enabler", "weight", "source"), target="epsilon") == [
        (P("gamma"), 0.5, "inferred")]


def test_requirements_transitive_with_depth_and_cycle(prepared):
    cols = ("required", "slug", "depth", "in_library")
    # alpha -> beta, ghost (1); beta -> gamma (2); gamma -> delta (3); delta -> beta (already at 1)
    assert rows(prepared, "requirements", cols, pattern="alpha") == [
        (P("beta"), "beta", 1, True), (P("ghost"), None, 1, False),
        (P("gamma"), "gamma", 2, True), (P("delta"), "delta", 3, True)]
    # the cycle gamma -> delta -> beta -> gamma brings gamma back at depth 3
    assert rows(prepared, "requirements", cols, pattern="gamma") == [
        (P("delta"), "delta", 1, True), (P("beta"), "beta", 2, True), (P("gamma"), "gamma", 3, True)]
    assert rows(prepared, "requirements", cols, pattern="epsilon") == []


def test_neighbours(prepared):
    cols = ("slug", "direction", "kind", "kind_name", "weight", "source")
    assert rows(prepared, "neighbours", cols, pattern="gamma") == [
        ("alpha", "in", ENABLES, None, 0.8, "curated"),
        ("delta", "in", ENABLES, None, None, "curated"),
        ("beta", "in", REQUIRES, None, 0.7, "curated"),
        ("alpha", "in", ENABLES, "enables", 0.6, "inferred"),
        ("delta", "out", REQUIRES, None, 0.6, "curated"),
        ("epsilon", "out", ENABLES, "enables", 0.5, "inferred"),
        ("beta", "out", REQUIRES, "requires", 0.7, "inferred"),
    ]


def test_by_domain(prepared):
    cols = ("slug", "overall_score", "primary")
    # governance: alpha, gamma, delta (primary), epsilon (cross); delta (legacy) has no score
    assert rows(prepared, "by-domain", cols, domain="governance") == [
        ("epsilon", 4.8, False), ("alpha", 4.0, True), ("gamma", 2.0, True), ("delta", None, True)]
    assert rows(prepared, "by-domain", cols, domain="ecology") == [
        ("epsilon", 4.8, True), ("alpha", 4.0, False), ("beta", 3.5, True)]


def test_top_assessed(prepared):
    cols = ("slug", "score", "overall_score")
    assert rows(prepared, "top-assessed", cols, dimension="resilience") == [
        ("beta", 4.5, 3.5), ("alpha", 3.0, 4.0), ("gamma", 2.0, 2.0), ("epsilon", 1.0, 4.8)]
    assert rows(prepared, "top-assessed", cols, dimension="overall", domain="ecology") == [
        ("epsilon", 4.8, 4.8), ("alpha", 4.0, 4.0), ("beta", 3.5, 3.5)]
    assert rows(prepared, "top-assessed", cols, dimension="autonomy") == []  # nobody scored it


def test_community(prepared):
    assert rows(prepared, "community", ("slug", "confidence"), community="c-green") == [
        ("alpha", 0.8), ("beta", 0.6), ("epsilon", 0.3)]
    assert rows(prepared, "community", ("slug", "confidence"), community="c-blue") == [
        ("gamma", 0.9), ("epsilon", 0.5)]


def test_similar(prepared):
    # alpha: entities {trust, soil}, community {green}
    # epsilon shares trust, soil, green; beta shares trust, green; gamma shares soil
    assert rows(prepared, "similar", ("slug", "shared_entities", "shared_communities", "score"), pattern="alpha") == [
        ("epsilon", 2, 1, 3), ("beta", 1, 1, 2), ("gamma", 1, 0, 1)]
    # delta (legacy) has no garden data
    assert rows(prepared, "similar", ("slug",), pattern="delta") == []


def test_path(prepared):
    cols = ("hops", "kind1", "via1", "kind2", "via2", "kind3")
    assert rows(prepared, "path", cols, **{"from": "alpha", "to": "delta"}) == [
        (1, "complementaryTo", None, None, None, None),
        (2, "requires ^enables", P("beta"), "^requires", None, None),
        (2, "^complementaryTo", P("epsilon"), "^relatedTo", None, None),
        (2, "enables", P("gamma"), "requires ^enables", None, None),
        (3, "requires ^enables", P("beta"), "requires", P("gamma"), "requires ^enables"),
        (3, "enables", P("gamma"), "^requires", P("beta"), "^requires"),
    ]
    assert rows(prepared, "path", ("hops",), **{"from": "alpha", "to": "delta", "max": "1"}) == [(1,)]
    # ghost is a dangling target: epsilon reaches it through alpha only
    assert rows(prepared, "path", ("hops", "kind1", "via1", "kind2"), **{"from": "epsilon", "to": "alpha",
                                                                          "max": "1"}) == [
        (1, "complementaryTo", None, None)]


def test_dangling_references(prepared):
    # alpha requires ghost (curated) and its garden links to phantom (inferred); neither is a pattern
    assert rows(prepared, "dangling-references", ("target", "token", "referrer", "slug", "curated", "inferred")) == [
        (P("ghost"), "ghost", P("alpha"), "alpha", 1, 0),
        (P("phantom"), "phantom", P("alpha"), "alpha", 0, 1),
    ]


def test_dangling_references_count_every_reference_of_each_referrer():
    """Two patterns point at one missing target, one of them twice (curated and inferred) and
    one through a curated relationship without a kind (which the shapes report)."""
    from pyoxigraph import RdfFormat, Store

    from patternkg.server.prepared import PreparedQueries, store_runner

    store = Store()
    store.load(f"""<{P("a")}> a <{PKG}Pattern> ; <{PKG}slug> "a" ;
    <{PKG}qualifiedRelationship> <{P("a")}#r> ; <{PKG}qualifiedInferredLink> <{P("a")}#i> .
<{P("a")}#r> <{PKG}target> <{P("nowhere")}> ; <{PKG}relationshipKind> <{PKG}enables> .
<{P("a")}#i> <{PKG}target> <{P("nowhere")}> .
<{P("b")}> a <{PKG}Pattern> ; <{PKG}slug> "b" ; <{PKG}qualifiedRelationship> <{P("b")}#r> .
<{P("b")}#r> <{PKG}target> <{P("nowhere")}> .
<{P("b")}#s> <{PKG}target> <{P("a")}> .
""", format=RdfFormat.TURTLE)
    assert rows(PreparedQueries(store_runner(store)), "dangling-references",
                ("token", "slug", "curated", "inferred")) == [("nowhere", "a", 1, 1), ("nowhere", "b", 1, 0)]


def test_one_sided_relations(prepared):
    assert rows(prepared, "one-sided-relations", ("slug", "kind", "target_slug", "missing")) == [
        ("alpha", COMPL, "delta", COMPL),
        ("alpha", ENABLES, "gamma", REQUIRES),
        ("beta", REQUIRES, "gamma", ENABLES),
        ("delta", RELATED, "epsilon", RELATED),
        ("delta", REQUIRES, "beta", ENABLES),
        ("epsilon", COMPL, "alpha", COMPL),
    ]


def test_review_queue(prepared):
    # backed and left out: alpha->gamma enables, alpha->delta complementary (same kind curated),
    # alpha->beta analogous (no known kind; alpha states requires beta)
    assert rows(prepared, "review-queue", ("slug", "target_slug", "kind_name", "confidence", "reason")) == [
        ("beta", "alpha", "complementary", 0.9, "r8"),  # beta states enables alpha: another kind
        ("alpha", "epsilon", "complementary", 0.88, "r3"),
        ("gamma", "beta", "requires", 0.7, "r5"),
        ("gamma", "epsilon", "enables", 0.5, "r6"),
        ("alpha", None, "analogous", 0.4, "r4"),
    ]


def test_search(prepared):
    # epsilon: alias "steward circle"; alpha: keyword "stewardship" (and its summary)
    assert rows(prepared, "search", ("slug", "match"), text="steward") == [("epsilon", "alias"), ("alpha", "keyword")]
    assert rows(prepared, "search", ("slug", "match"), text="CIRCLE") == [("beta", "title"), ("epsilon", "alias")]
    assert rows(prepared, "search", ("slug", "match"), text="weekly") == [("beta", "summary")]
    # quotes, braces and a newline are part of the literal, not of the query
    assert rows(prepared, "search", ("slug",), text='x" ) } UNION { ?pattern ?p ?o } #\n') == []


def test_stats(prepared):
    answer = prepared.run("stats", {})
    got = [(r["facet"], r["name"], r["count"]) for r in answer.rows(answer.bindings)]
    assert [g for g in got if g[0] != "type"] == [
        ("dialect", "v7.1", 4), ("dialect", "legacy", 1),
        ("domain", "governance", 3), ("domain", "ecology", 2),
        ("status", "draft", 3), ("status", "stable", 1), ("status", "validated", 1),
    ]
    types = {name: count for facet, name, count in got if facet == "type"}
    # 11 curated relationships, 8 inferred links, 6 entity mentions, 5 memberships, 4 assessments
    assert {k: types[k] for k in ("Pattern", "Relationship", "InferredLink", "EntityMention",
                                  "CommunityMembership", "CommonsAssessment", "Domain", "Community",
                                  "Entity")} == {
        "Pattern": 5, "Relationship": 11, "InferredLink": 8, "EntityMention": 6, "CommunityMembership": 5,
        "CommonsAssessment": 4, "Domain": 2, "Community": 2, "Entity": 2}


def test_other_base_iri():
    """Nothing hard-codes the default base: the same library under another base answers the same."""
    from patternkg.converter.api import convert
    from patternkg.server.prepared import PreparedQueries, store_runner

    from qhelpers import LIBRARY

    base = "https://example.org/lib/"
    pq = PreparedQueries(store_runner(convert(sources=[LIBRARY], base_iri=base).store), base_iri=base)
    answer = pq.run("enablers", {"target": "gamma", "domain": "ecology"})
    assert [r["enabler"] for r in answer.rows(answer.bindings)] == [base + "pattern/alpha"] * 2
    assert BASE not in str(answer.bindings)
