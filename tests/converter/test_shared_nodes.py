"""Nodes many patterns name (communities, entities, domains, agents) are described once,
the same way whichever worker process reads which file."""

from __future__ import annotations

import io

import pytest
from pyoxigraph import Literal, NamedNode

from patternkg.converter.api import convert, export
from patternkg.converter.namespaces import DEFAULT_BASE_IRI
from patternkg.converter.pipeline import PARALLEL_THRESHOLD

SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS_LABEL = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
COMMUNITY = NamedNode(DEFAULT_BASE_IRI + "community/shared-circle")
ENTITY = NamedNode(DEFAULT_BASE_IRI + "entity/Q42")
FILES = PARALLEL_THRESHOLD + 16  # enough for the worker pool to be used

TEMPLATE = """---
id: pat_{n:04d}
slug: pattern-{n:04d}
title: Pattern {n}
ontology:
  domain: governance
graph_garden:
  entities:
  - id: Q42
    label: Entity label {entity}
    type: concept
    relevance: 0.5
  communities:
  - id: shared-circle
    label: Circle label {community}
    confidence: 0.8
contributors:
- name: Ada Lovelace
  role: author
---

# Pattern {n}
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shared-nodes")
    for n in range(FILES):
        # Labels differ between files, in a pattern that workers reading chunks of
        # files in any order would see in different first-occurrence orders.
        (folder / f"pattern-{n:04d}.md").write_text(
            TEMPLATE.format(n=n, community=(FILES - n) % 3, entity=n % 4), encoding="utf-8")
    return folder


def _ntriples(folder, jobs: int) -> bytes:
    out = io.BytesIO()
    export(sources=[folder], format="ntriples", output=out, jobs=jobs)
    return out.getvalue()


def test_output_does_not_depend_on_worker_processes(library):
    single = _ntriples(library, jobs=1)
    assert single == _ntriples(library, jobs=2)
    assert single == _ntriples(library, jobs=3)


def test_first_file_gives_the_preferred_label_and_the_others_are_kept(library):
    store = convert(sources=[library], jobs=2).store
    pref = [q.object for q in store.quads_for_pattern(COMMUNITY, NamedNode(SKOS + "prefLabel"), None)]
    alt = sorted(q.object.value for q in store.quads_for_pattern(COMMUNITY, NamedNode(SKOS + "altLabel"), None))
    # pattern-0000 comes first in file order and names the community "Circle label 2".
    assert pref == [Literal("Circle label 2")]
    assert alt == ["Circle label 0", "Circle label 1"]
    # rdfs:label may repeat: every label an entity is given is kept.
    labels = sorted(q.object.value for q in store.quads_for_pattern(ENTITY, RDFS_LABEL, None))
    assert labels == [f"Entity label {i}" for i in range(4)]


def test_each_shared_node_is_described_once(library):
    store = convert(sources=[library], jobs=2).store
    scheme = NamedNode(SKOS + "inScheme")
    assert len(list(store.quads_for_pattern(COMMUNITY, scheme, None))) == 1
    agent_labels = list(store.quads_for_pattern(NamedNode(DEFAULT_BASE_IRI + "agent/ada-lovelace"), RDFS_LABEL, None))
    assert [q.object for q in agent_labels] == [Literal("Ada Lovelace")]
