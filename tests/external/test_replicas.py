"""Generation artefacts and replicas: package one generation, serve it from two replicas.

Two ``patternkg serve --artefact`` processes (replicas, each installing the artefact into a
folder of its own as another machine would) answer a round-robin client; both give the
same answers and name the same generation. A tampered archive is refused."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from serving import serve

from patternkg.converter.artefact import ArtefactRefused, install, package, sha256_file
from patternkg.converter.storedir import open_generation

QUERIES = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 50",
    "ASK { ?s a <https://w3id.org/patternkg/ontology#Pattern> }",
]
PATHS = ["/api/queries/stats", "/pattern/distributed-organizing", "/void"]


@pytest.fixture(scope="module")
def artefact(seed_store: Path, tmp_path_factory: pytest.TempPathFactory):
    return package(store=seed_store, output=tmp_path_factory.mktemp("artefact"))


def test_artefact_carries_its_metadata(artefact, seed_store: Path) -> None:
    generation = open_generation(seed_store)
    meta = json.loads(artefact.metadata_file.read_text())
    assert meta["generation"] == generation.id
    assert meta["base_iri"] == generation.metadata["base_iri"]
    assert meta["source_digest"] == generation.metadata["source_digest"]
    assert meta["patternkg_version"] == generation.metadata["patternkg_version"]
    assert meta["sha256"] == sha256_file(artefact.archive)
    assert artefact.checksum_file.read_text() == f"{meta['sha256']}  {artefact.archive.name}\n"
    with pytest.raises(ArtefactRefused, match="never overwritten"):
        package(store=seed_store, output=artefact.archive.parent)


def test_two_replicas_answer_the_same(artefact, seed_store: Path, tmp_path: Path) -> None:
    generation = open_generation(seed_store).id
    replicas = []
    try:
        for i in range(2):
            folder = tmp_path / f"machine{i}"
            folder.mkdir()
            (folder / "store").mkdir()
            replicas.append(serve(folder, "--artefact", str(artefact.archive), "--store", str(folder / "store")))
        answers: dict[str, set[bytes]] = {}
        turn = itertools.cycle(replicas)
        for _ in range(2):  # every request twice, so each replica answers each one
            for query in QUERIES:
                r = next(turn).get("/sparql", params={"query": query},
                                   headers={"Accept": "application/sparql-results+json"})
                assert r.status_code == 200 and r.headers["Patternkg-Generation"] == generation
                answers.setdefault(query, set()).add(r.content)
            for path in PATHS:
                r = next(turn).get(path, headers={"Accept": "text/turtle"} if "stats" not in path else {})
                assert r.status_code == 200 and r.headers["Patternkg-Generation"] == generation
                answers.setdefault(path, set()).add(r.content)
        assert all(len(bodies) == 1 for bodies in answers.values()), {k: len(v) for k, v in answers.items()}
    finally:
        for replica in replicas:
            replica.stop()


def test_a_tampered_artefact_is_refused(artefact, tmp_path: Path) -> None:
    copy = tmp_path / artefact.archive.name
    data = bytearray(artefact.archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    (tmp_path / artefact.checksum_file.name).write_text(artefact.checksum_file.read_text())
    with pytest.raises(ArtefactRefused, match="checksum mismatch"):
        install(artefact=copy, store=tmp_path / "store")
    assert not (tmp_path / "store").exists()  # nothing extracted
    done = subprocess.run([sys.executable, "-m", "patternkg", "serve", "--artefact", str(copy), "--get", "/health"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "checksum mismatch" in done.stderr and str(copy) in done.stderr
    # an explicit --sha256 that does not match refuses the genuine archive too
    with pytest.raises(ArtefactRefused, match="checksum mismatch"):
        install(artefact=artefact.archive, store=tmp_path / "other", sha256="0" * 64)


def test_install_rolls_a_store_directory(artefact, seed_store: Path, tmp_path: Path) -> None:
    target = tmp_path / "replica"
    generation = install(artefact=artefact.archive, store=target)
    assert generation.id == open_generation(seed_store).id
    assert open_generation(target).id == generation.id
    again = install(artefact=artefact.archive, store=target)  # idempotent: already there, stays current
    assert again.id == generation.id


def test_installing_into_a_served_store_rolls_the_replica(artefact, tmp_path: Path) -> None:
    """A replica serving generation A moves to B as a whole once B is installed (no restart)."""
    import time

    from patternkg.converter.api import build

    other = tmp_path / "build"
    assert build(store=other).ok  # the same library, a new generation
    second = package(store=other, output=tmp_path / "artefacts")
    target = tmp_path / "replica"
    first = install(artefact=artefact.archive, store=target)
    replica = serve(tmp_path, "--store", str(target), "--reload-interval", "0.2")
    try:
        assert replica.get("/health").headers["Patternkg-Generation"] == first.id
        rolled = install(artefact=second.archive, store=target)
        assert rolled.id != first.id
        deadline = time.monotonic() + 60
        while replica.get("/health").headers["Patternkg-Generation"] != rolled.id:
            assert time.monotonic() < deadline, "the replica did not move to the installed generation"
            time.sleep(0.2)
        r = replica.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "application/json"})
        assert r.status_code == 200 and r.headers["Patternkg-Generation"] == rolled.id
    finally:
        replica.stop()
