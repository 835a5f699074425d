"""Constants of the prepared-query tests (conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LIBRARY = HERE / "library"
REPO = HERE.parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "commons-os"
BASE = "https://w3id.org/patternkg/library/"
PKG = "https://w3id.org/patternkg/ontology#"


def P(slug: str) -> str:
    """The IRI of a pattern of the fixture library (default base)."""
    return f"{BASE}pattern/{slug}"


def fact_tables(store: Any, directory: Path, **options: Any) -> tuple[set[str], dict[str, list]]:
    """The schemas attached and every fact table's rows (sorted) of a BulkFacts made in
    *directory* (created) with *options*; checks it leaves no scratch file behind."""
    from patternkg.server import bulk_facts

    directory.mkdir(exist_ok=True)
    db = sqlite3.connect(directory / "scratch.sqlite")
    with bulk_facts.BulkFacts(store, db, directory, **options) as facts:
        schemas = {row[1] for row in db.execute("PRAGMA database_list")}
        tables = {t: sorted(facts.db.execute(f"SELECT * FROM {t}")) for t in bulk_facts.TABLES}
    db.close()
    assert [p.name for p in directory.iterdir()] == ["scratch.sqlite"], "scratch files left behind"
    return schemas, tables
