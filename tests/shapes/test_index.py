"""``validate --only FILE --index DIR``: a kept cross-pattern index gives exactly the results of
a full validation restricted to FILE, after edits of FILE, of other files, additions and
removals; only what changed is converted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patternkg.shapes.index import NotAnIndexError, read_meta
from patternkg.shapes.validation import validate_library

TARGET = "emotional-bid-responsiveness.md"  # enables, requires, complementary links; shared nodes
PARTNER = "acceptance-and-commitment.md"  # one of its complementary targets


@pytest.fixture()
def library(corpus_dir, tmp_path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    names = sorted(p.name for p in corpus_dir.glob("*.md"))[:60] + [TARGET, PARTNER, "presence-and-attention.md",
                                                                      "vulnerability-resilience.md"]
    for name in names:
        if (corpus_dir / name).exists():
            shutil.copy(corpus_dir / name, lib / name)
    return lib


def _expected(lib: Path, file: Path) -> list[dict]:
    whole = validate_library(sources=[lib], batch_files=0, jobs=1)
    return [r.to_dict() for r in whole.results if r.file == str(file)]


def _only(lib: Path, index: Path, file: Path):
    return validate_library(sources=[lib], index=index, only=[file], jobs=1)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.slow
def test_only_with_an_index_equals_the_full_run_filtered(library, tmp_path):
    index = tmp_path / "index"
    target, partner = library / TARGET, library / PARTNER
    full = validate_library(sources=[library], index=index, batch_files=16, jobs=2)
    assert read_meta(index)["dirty"] is False and full.converted is None
    assert [r.to_dict() for r in full.results if r.file == str(target)] == _expected(library, target)

    # Nothing changed: one file converted, the rest read from the index.
    v = _only(library, index, target)
    assert v.reused_index == 1
    assert [r.to_dict() for r in v.results] == _expected(library, target) != []

    # The file changed: a curated target and the title (a violation); a shared label.
    _edit(target, "  requires:\n    - slug: presence-and-attention", "  requires:\n    - slug: acceptance-and-commitment")
    _edit(target, 'title: "Emotional Bid Responsiveness"\n', "")
    _edit(target, 'label: "John Gottman"', 'label: "J. Gottman"')
    v = _only(library, index, target)
    assert v.reused_index is not None
    assert [r.to_dict() for r in v.results] == _expected(library, target)
    assert any(r.shape == "PatternShape/title" for r in v.results)

    # Its id becomes another pattern's: both report the duplicate, the partner unchanged on disk.
    partner_id = next(line for line in partner.read_text().splitlines() if line.startswith("id: "))
    _edit(target, "id: pat_01khvcxc19ep5vdg4bh6qa9e0g", partner_id)
    for file in (target, partner):
        v = _only(library, index, file)
        assert v.reused_index is not None
        assert [r.to_dict() for r in v.results] == _expected(library, file), file.name
    assert any(r.shape == "DuplicateIdShape" for r in v.results)

    # A new file linking to the target, and a removed file the target links to.
    added = library / "zz-new-pattern.md"
    added.write_text("---\nid: pat_01zzzzzzzzzzzzzzzzzzzzzzzz\nslug: zz-new-pattern\ntitle: New\n"
                     "relationships:\n  enables:\n    - slug: emotional-bid-responsiveness\n---\nText.\n",
                     encoding="utf-8")
    partner.unlink()
    for file in (added, target):
        v = _only(library, index, file)
        assert v.reused_index is not None
        assert [r.to_dict() for r in v.results] == _expected(library, file), file.name


def test_index_of_another_library_is_left_alone_and_other_directories_are_refused(tmp_path):
    seed = Path(__file__).resolve().parents[2] / "seeds"
    cases = Path(__file__).resolve().parent / "cases"
    index = tmp_path / "index"
    validate_library(sources=[cases / "self-link" / "fail"], index=index, jobs=1)
    assert read_meta(index)["sources"] == [str((cases / "self-link" / "fail").resolve())]
    v = validate_library(sources=[seed], index=index, only=[seed / "distributed-organizing.md"], jobs=1)
    assert v.reused_index is None and v.counts() == {"violation": 0, "warning": 11, "info": 12}  # a full run
    assert read_meta(index)["sources"] == [str((cases / "self-link" / "fail").resolve())]  # another's: kept
    validate_library(sources=[seed], index=index, jobs=1)  # a full run (re)writes it
    assert read_meta(index)["sources"] == [str(seed.resolve())]
    again = validate_library(sources=[seed], index=index, only=[seed / "distributed-organizing.md"], jobs=1)
    assert again.reused_index == 1 and again.counts() == v.counts()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("not an index", encoding="utf-8")
    with pytest.raises(NotAnIndexError, match="not a patternkg validation index"):
        validate_library(sources=[seed], index=mine)
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "not an index"


def test_results_on_shared_nodes_follow_their_lines_and_content(tmp_path):
    """A file whose shared-node descriptions only moved (lines above them added) keeps its results
    there at the new lines, now and in later runs; when they change, they are checked again."""
    lib = tmp_path / "lib"
    shutil.copytree(Path(__file__).resolve().parent / "cases" / "entity-type-value" / "fail", lib)
    alpha, index = lib / "alpha.md", tmp_path / "index"
    validate_library(sources=[lib], index=index, batch_files=1, jobs=1)
    before = _expected(lib, alpha)
    on_entity = [r for r in before if r["shape"] == "EntityShape/entityType"]
    assert len(on_entity) == 1 and on_entity[0]["line"] == 41

    _edit(alpha, "slug: alpha\n", "slug: alpha\n# two comment lines: everything below moves\n#\n")
    for _run in range(2):  # the move, then nothing changed (the kept results now at the new lines)
        v = _only(lib, index, alpha)
        assert v.reused_index == 1
        assert [r.to_dict() for r in v.results] == _expected(lib, alpha)
        assert [r.line for r in v.results if r.shape == "EntityShape/entityType"] == [43]

    _edit(alpha, "type: gadget", "type: person")  # a valid type: the result on the entity is gone
    v = _only(lib, index, alpha)
    assert [r.to_dict() for r in v.results] == _expected(lib, alpha)
    assert not any(r.shape == "EntityShape/entityType" for r in v.results)
    _edit(alpha, "type: person", "type: gizmo")
    v = _only(lib, index, alpha)
    assert [r.to_dict() for r in v.results] == _expected(lib, alpha)
    assert any(r.shape == "EntityShape/entityType" and r.value.endswith("/gizmo") for r in v.results)
