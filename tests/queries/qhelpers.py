"""Constants of the prepared-query tests (conftest.py puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBRARY = HERE / "library"
REPO = HERE.parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "commons-os"
BASE = "https://w3id.org/patternkg/library/"
PKG = "https://w3id.org/patternkg/ontology#"


def P(slug: str) -> str:
    """The IRI of a pattern of the fixture library (default base)."""
    return f"{BASE}pattern/{slug}"
