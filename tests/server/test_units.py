"""Unit tests of the Accept parser and the SPARQL lexer guard (no server needed)."""

from __future__ import annotations

import pytest

from patternkg.server.guard import QueryInfo, ServiceRefused, UpdateRefused, inspect_query
from patternkg.server.negotiation import GRAPH_OFFERS, PAGE_OFFERS, RESULTS_OFFERS, choose, parse_accept


@pytest.mark.parametrize(
    ("header", "offers", "expected"),
    [
        (None, RESULTS_OFFERS, "application/sparql-results+json"),
        ("", GRAPH_OFFERS, "text/turtle"),
        ("*/*", GRAPH_OFFERS, "text/turtle"),
        ("text/csv;q=0.4, application/sparql-results+xml;q=0.5", RESULTS_OFFERS, "application/sparql-results+xml"),
        ("text/*", RESULTS_OFFERS, "text/csv"),
        ("text/*, text/csv;q=0", RESULTS_OFFERS, "text/tab-separated-values"),
        ("application/ld+json;profile=\"x\";q=0.9, text/turtle;q=0.8", GRAPH_OFFERS, "application/ld+json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", PAGE_OFFERS, "text/html"),
        ("application/json", RESULTS_OFFERS, "application/json"),
        ("image/png", RESULTS_OFFERS, None),
        ("*/*;q=0", GRAPH_OFFERS, None),
        ("garbage, text/turtle;q=abc, application/n-triples", GRAPH_OFFERS, "application/n-triples"),
        ("TEXT/TURTLE", GRAPH_OFFERS, "text/turtle"),
    ],
)
def test_choose(header, offers, expected) -> None:
    offer = choose(header, offers)
    assert (offer.media_type if offer else None) == expected


def test_parse_accept_skips_malformed_entries() -> None:
    ranges = parse_accept("text/turtle;q=2, */html, ;, application/n-triples;q=0.5")
    assert [(r.type, r.subtype, r.q) for r in ranges] == [("application", "n-triples", 0.5)]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * { SERVICE <http://x/> { ?s ?p ?o } }",
        "select * { service <http://x/> {} }",
        "SELECT * { SERVICEex:f {} }",
        "SELECT * { ?s ?p trueSERVICE<x:y>{} }",
        "SELECT * { ?s ?p 1SERVICE<x:y>{} }",
        "SELECT * { ?s ?p ?o.SERVICE<x:y>{} }",
        "SELECT * { ?s ?p \"x\"SERVICE<x:y>{} }",
        r"SELECT * { \u0053ERVICE <x:y> {} }",
        r"SELECT * { \U00000073ervice <x:y> {} }",
        "SELECT * {#c\nSeRvIcE\n<x:y>{}}",
        "PREFIX service: <x:> SELECT * { ?s ?p service:o }",
    ],
)
def test_service_refused(query: str) -> None:
    with pytest.raises(ServiceRefused):
        inspect_query(query)


@pytest.mark.parametrize(
    ("query", "form"),
    [
        ('SELECT * { ?s ?p "SERVICE" }', "SELECT"),
        ("SELECT * { ?s ?p '''a\nSERVICE''' }", "SELECT"),
        ("SELECT * { <http://service.org/SERVICE> ?p ?o } # SERVICE", "SELECT"),
        ("SELECT ?service { ?service <https://schema.org/serviceType> ?o }", "SELECT"),
        ("PREFIX schema: <https://schema.org/> SELECT * { ?s schema:serviceType ?o }", "SELECT"),
        ("PREFIX ex: <http://x/> BASE <http://y/> ASK {}", "ASK"),
        ("construct where { ?s ?p ?o }", "CONSTRUCT"),
        ("DESCRIBE <x:y>", "DESCRIBE"),
        ("SELECT * { FILTER(?a<?b && ?c>1) }", "SELECT"),
        ("  # nothing but a comment", None),
    ],
)
def test_allowed(query: str, form: str | None) -> None:
    assert inspect_query(query) == QueryInfo(form=form)


@pytest.mark.parametrize(
    "update",
    ["INSERT DATA { <a:b> <a:b> <a:b> }", "PREFIX x: <x:> DELETE WHERE { ?s ?p ?o }", "LOAD <http://x/>",
     "clear all", "DROP GRAPH <x:g>", "WITH <x:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }"],
)
def test_update_refused(update: str) -> None:
    with pytest.raises(UpdateRefused):
        inspect_query(update)


def test_every_429_and_503_says_when_to_try_again() -> None:
    from flask import Flask

    from patternkg.server.errors import error_response

    with Flask(__name__).app_context():
        for status, kind in ((503, "timeout"), (503, "worker-crashed"), (429, "too-many-requests"), (503, "busy")):
            assert error_response(status, kind, "x").headers["Retry-After"] == "1", kind
        assert error_response(503, "busy", "x", retry_after=7).headers["Retry-After"] == "7"
        assert "Retry-After" not in error_response(400, "syntax", "x").headers
        assert "Retry-After" not in error_response(422, "rows", "x").headers
