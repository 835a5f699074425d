"""Fixtures shared by every test package: paths, conversions, the golden-file flag."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "distributed-organizing.md"
CORPUS = REPO.parent / "shared" / "corpus" / "commons-os"


def pytest_addoption(parser):
    parser.addoption("--regen-golden", action="store_true", default=False,
                     help="Rewrite golden files from the current output instead of comparing.")


@pytest.fixture(scope="session")
def regen_golden(request) -> bool:
    return request.config.getoption("--regen-golden")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus ../shared/corpus/commons-os is absent")
    return CORPUS


@pytest.fixture(scope="session")
def seed_converted():
    from patternkg.converter.api import convert

    return convert(sources=[SEED], track=True)


@pytest.fixture(scope="session")
def corpus_store_dir(corpus_dir, tmp_path_factory):
    """An on-disk store built once from the shared corpus (read-only for tests)."""
    from patternkg.converter.api import build

    target = tmp_path_factory.mktemp("corpus") / "store"
    report = build(store=target, sources=[corpus_dir])
    return target, report


def _load_gitlib():
    import importlib.util

    spec = importlib.util.spec_from_file_location("shapes_gitlib", Path(__file__).resolve().parent / "shapes" / "gitlib.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def gitlib():
    """Helpers for a small library in a temporary git repository (``tests/shapes/gitlib.py``)."""
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    return _load_gitlib()


#: Two small libraries written by hand (see the ``two_libraries`` fixture): file name -> front matter.
LIBRARY_A = {
    "shared.md": "id: pat_shared1\nslug: shared-one\ntitle: Shared One",
    "renamed.md": "id: pat_renamed\nslug: old-name\ntitle: Old Name",
    "no-id.md": "slug: no-id-pattern\ntitle: No Id",
    "own-id.md": "id: pat_a_own\nslug: same-slug\ntitle: Same Slug in A",
    "only.md": "id: pat_a_only\nslug: only-in-a\ntitle: Only in A\nrelationships:\n  enables: [shared-one]",
    "twice-1.md": "slug: twice-in-a\ntitle: Twice",
    "twice-2.md": "slug: twice-in-a\ntitle: Twice again",
}
LIBRARY_B = {
    "shared.md": "id: pat_shared1\nslug: shared-one\ntitle: Shared One (B)",
    "renamed.md": "id: pat_renamed\nslug: new-name\ntitle: New Name",
    "no-id.md": "slug: no-id-pattern\ntitle: No Id (B)",
    "own-id.md": "id: pat_b_own\nslug: same-slug\ntitle: Same Slug in B",
    "only.md": "id: pat_b_only\nslug: only-in-b\ntitle: Only in B\nrelationships:\n  enables: [new-name]",
    "twice.md": "slug: twice-in-a\ntitle: Once in B",
}
BASE_A = "https://a.example/patterns/"
BASE_B = "https://b.example/library/"
#: The links the two libraries must get: (slug in A, skos property, slug in B), one direction.
EXPECTED_LINKS = {
    ("shared-one", "exactMatch", "shared-one"),  # same id (and slug)
    ("old-name", "exactMatch", "new-name"),  # same id, another slug
    ("no-id-pattern", "closeMatch", "no-id-pattern"),  # same slug, no id
    ("same-slug", "closeMatch", "same-slug"),  # same slug, different ids
    ("twice-in-a", "closeMatch", "twice-in-a"),  # same slug; twice in A is A's duplicate, not a link
}


class TwoLibraries:
    """The folders of the two libraries, their base IRIs and the links they must get.

    (A plain class: tests/converter/test_seed.py loads this file outside ``sys.modules``,
    where ``@dataclass`` cannot resolve its annotations.)"""

    def __init__(self, a: Path, b: Path) -> None:
        self.a, self.b = a, b
        self.base_a, self.base_b = BASE_A, BASE_B
        self.expected_links = frozenset(EXPECTED_LINKS)


@pytest.fixture(scope="session")
def two_libraries(tmp_path_factory) -> TwoLibraries:
    """Folders of two small libraries (:data:`LIBRARY_A`, :data:`LIBRARY_B`) sharing some ids and
    slugs (read-only for tests)."""
    folders = []
    root = tmp_path_factory.mktemp("two-libraries")
    for name, files in (("lib-a", LIBRARY_A), ("lib-b", LIBRARY_B)):
        folder = root / name
        folder.mkdir()
        for file, front in files.items():
            (folder / file).write_text(f"---\n{front}\n---\n\nA pattern written for a test.\n", encoding="utf-8")
        folders.append(folder)
    return TwoLibraries(folders[0], folders[1])
