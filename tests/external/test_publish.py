"""``patternkg publish`` into real engines: Oxigraph server and Virtuoso over the Graph Store Protocol."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pyoxigraph as ox
import pytest
from engines import Engine, Relay

from patternkg.converter.storedir import open_store
from patternkg.converter.publish import (
    Credentials, PublishError, endpoints_for, list_releases, load_credentials, publish, release_graph,
    releases_graph,
)

DCAT = "http://www.w3.org/ns/dcat#"


def fresh_base() -> str:
    return f"https://example.org/{uuid.uuid4().hex[:12]}/"


def triples_of(store: Path) -> int:
    return len({q.triple for q in open_store(store)})


def current_of(engine: Engine, base: str) -> str | None:
    rows = engine.select(f"SELECT ?r WHERE {{ GRAPH <{releases_graph(base)}> {{ <{base}dataset> "
                         f"<{DCAT}hasCurrentVersion> ?r }} }}")
    return rows[0]["r"]["value"] if rows else None


def test_publish_then_roll_and_keep(engine: Engine, seed_store: Path) -> None:
    base = fresh_base()
    expected = triples_of(seed_store)
    first = publish(to=engine.gsp, store=seed_store, base_iri=base, release="r1", keep=2)
    assert first.release.triples == expected
    assert engine.count(release_graph(base, "r1")) == expected
    assert current_of(engine, base) == release_graph(base, "r1")
    publish(to=engine.gsp, store=seed_store, base_iri=base, release="r2", keep=2)
    assert current_of(engine, base) == release_graph(base, "r2")
    assert engine.count(release_graph(base, "r1")) == expected  # kept: a reader of r1 can finish
    third = publish(to=engine.gsp, store=seed_store, base_iri=base, release="r3", keep=2)
    assert third.dropped == [release_graph(base, "r1")]
    assert engine.count(release_graph(base, "r1")) == 0
    current, releases = list_releases(to=engine.gsp, base_iri=base)
    assert current == release_graph(base, "r3")
    assert [r.version for r in releases] == ["r3", "r2"]
    assert all(r.triples == expected for r in releases)
    # the same release name twice is refused before anything is written
    with pytest.raises(PublishError, match="already published"):
        publish(to=engine.gsp, store=seed_store, base_iri=base, release="r3")


def test_small_chunks_give_the_same_graph(engine: Engine, seed_store: Path) -> None:
    base = fresh_base()
    result = publish(to=engine.gsp, store=seed_store, base_iri=base, release="c", chunk_triples=37)
    assert result.requests > 10
    graph = release_graph(base, "c")
    sent = {q.triple for q in open_store(seed_store)}
    rows = engine.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert len(rows) == len(sent)
    subjects = {q.subject.value for q in sent if isinstance(q.subject, ox.NamedNode)}
    assert {r["s"]["value"] for r in rows if r["s"]["type"] == "uri"} == subjects


def test_failed_upload_leaves_nothing_half_published(engine: Engine, seed_store: Path) -> None:
    base = fresh_base()
    publish(to=engine.gsp, store=seed_store, base_iri=base, release="good")
    host = engine.base
    # the third upload request fails (after retries): the partial graph is removed, r-good stays current
    uploads = {"n": 0}

    def fault(method: str, path: str, n: int):
        if method == "POST" and "release%2Fbad" in path.replace("/", "%2F"):
            uploads["n"] += 1
            if uploads["n"] >= 2:
                return (500, 0.0)
        return None

    relay = Relay(host, fault)
    try:
        path = engine.gsp[len(host):]
        with pytest.raises(PublishError) as caught:
            publish(to=relay.url + path, store=seed_store, base_iri=base, release="bad", chunk_triples=50,
                    retries=1, backoff=0.01, query_url=engine.query)
    finally:
        relay.close()
    message = str(caught.value)
    assert relay.url + path in message and "500" in message, message
    assert caught.value.status == 500
    assert engine.count(release_graph(base, "bad")) == 0
    assert current_of(engine, base) == release_graph(base, "good")


def test_transient_failures_are_retried(oxigraph_server: Engine, seed_store: Path) -> None:
    base = fresh_base()
    failed = set()

    def fault(method: str, path: str, n: int):
        if method in ("PUT", "POST") and n not in failed and n % 3 == 0:
            failed.add(n)
            return (503, 0.0)
        return None

    relay = Relay(oxigraph_server.base, fault)
    try:
        result = publish(to=relay.url + "/store", store=seed_store, base_iri=base, release="x", chunk_triples=60,
                         retries=2, backoff=0.01, query_url=oxigraph_server.query)
    finally:
        relay.close()
    assert failed
    assert oxigraph_server.count(release_graph(base, "x")) == result.release.triples == triples_of(seed_store)


def test_error_names_url_and_status(engine: Engine, seed_store: Path) -> None:
    bad = engine.base + "/no-such-endpoint"
    with pytest.raises(PublishError) as caught:
        publish(to=bad, store=seed_store, base_iri=fresh_base(), query_url=engine.query, retries=0)
    assert bad in str(caught.value) and str(caught.value.status) in str(caught.value)


def test_virtuoso_digest_endpoint(virtuoso: Engine, seed_store: Path) -> None:
    base = fresh_base()
    assert virtuoso.gsp_auth is not None
    with pytest.raises(PublishError) as caught:
        publish(to=virtuoso.gsp_auth, store=seed_store, base_iri=base, retries=0,
                credentials=Credentials("digest", "dba", "wrong"))
    assert caught.value.status == 401 and virtuoso.gsp_auth in str(caught.value)
    result = publish(to=virtuoso.gsp_auth, store=seed_store, base_iri=base, release="d",
                     credentials=load_credentials(scheme="digest", environ={
                         "PATTERNKG_PUBLISH_USER": "dba", "PATTERNKG_PUBLISH_PASSWORD": "dba"}))
    assert virtuoso.count(result.current) == triples_of(seed_store)
    assert current_of(virtuoso, base) == result.current


def test_bearer_and_basic_are_sent(oxigraph_server: Engine, seed_store: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("# the publisher's token\ntoken=s3cret\n")
    relay = Relay(oxigraph_server.base, require="Bearer s3cret")
    try:
        publish(to=relay.url + "/store", store=seed_store, base_iri=fresh_base(), query_url=relay.url + "/query",
                credentials=load_credentials(file=token_file))
        relay.require = "Basic dTpw"  # u:p
        publish(to=relay.url + "/store", store=seed_store, base_iri=fresh_base(), query_url=relay.url + "/query",
                credentials=load_credentials(environ={"PATTERNKG_PUBLISH_USER": "u",
                                                      "PATTERNKG_PUBLISH_PASSWORD": "p"}))
        with pytest.raises(PublishError) as caught:
            publish(to=relay.url + "/store", store=seed_store, base_iri=fresh_base(), retries=0)
        assert caught.value.status == 401
    finally:
        relay.close()
    assert all(auth in ("Bearer s3cret", "Basic dTpw", None) for _, _, auth in relay.seen)


def test_credentials_never_from_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="credentials in a URL"):
        endpoints_for("http://user:pw@127.0.0.1:1/store")
    bad = tmp_path / "creds"
    bad.write_text("password hunter2\n")
    with pytest.raises(PublishError, match=f"{bad}:1"):
        load_credentials(file=bad)
    with pytest.raises(PublishError, match="PATTERNKG_PUBLISH_PASSWORD"):
        load_credentials(scheme="basic", environ={"PATTERNKG_PUBLISH_USER": "u"})
    assert repr(Credentials("basic", "u", "hunter2")).count("hunter2") == 0


def test_alias_graph_by_sparql_update(oxigraph_server: Engine, seed_store: Path) -> None:
    base = fresh_base()
    alias = base + "current"
    publish(to=oxigraph_server.gsp, store=seed_store, base_iri=base, release="a", alias_graph=alias)
    assert oxigraph_server.count(alias) == triples_of(seed_store)


def test_cli_publishes_from_sources(oxigraph_server: Engine, tmp_path: Path) -> None:
    base = fresh_base()
    done = subprocess.run([sys.executable, "-m", "patternkg", "publish", "--to", oxigraph_server.gsp,
                           "--base-iri", base, "--release", "cli", "-q"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "published release cli" in done.stderr
    assert current_of(oxigraph_server, base) == release_graph(base, "cli")
    refused = subprocess.run([sys.executable, "-m", "patternkg", "publish", "--to",
                              oxigraph_server.base + "/nowhere", "--base-iri", fresh_base(), "-q",
                              "--retries", "0", "--query-url", oxigraph_server.query],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert refused.returncode == 1
    assert oxigraph_server.base + "/nowhere" in refused.stderr and "404" in refused.stderr


def test_release_named_after_the_generation(oxigraph_server: Engine, seed_store: Path) -> None:
    from patternkg.converter.storedir import open_generation

    generation = open_generation(seed_store)
    base = fresh_base()
    result = publish(to=oxigraph_server.gsp, store=seed_store, base_iri=base)
    assert result.release.version == generation.id
    _, releases = list_releases(to=oxigraph_server.gsp, base_iri=base)
    extra = dict(releases[0].extra)
    assert extra["http://purl.org/dc/terms/identifier"] == f'"{generation.id}"'
    assert extra["http://purl.org/dc/terms/source"] == f'"sha256:{generation.metadata["source_digest"]}"'
