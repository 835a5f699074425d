"""discover(): the files and order of ``sorted(Path.rglob("*.md"))``, deduplicated by real path."""

from __future__ import annotations

import os
from pathlib import Path

from patternkg.converter.pipeline import SourceFile, discover, has_pattern_files


def reference(sources: list[Path]) -> list[SourceFile]:
    """The definition discover() keeps: rglob, is_file, sorted Paths, first real path wins."""
    found, seen = [], set()
    for source in sources:
        if source.is_dir():
            files = sorted(p for p in source.rglob("*.md") if p.is_file())
            prefix = f"{source.resolve().name}/" if len(sources) > 1 else ""
            items = [(p, prefix + p.relative_to(source).as_posix()) for p in files]
        else:
            items = [(source, source.name)]
        for path, rel in items:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                found.append(SourceFile(str(path), rel))
    return found


def tree(root: Path) -> Path:
    lib = root / "lib"
    for rel in ("b.md", "a-c.md", "a/b.md", "a/z/y.md", ".hidden.md", ".dot/x.md", "A.md", "notes.txt",
                "x.MD", "dir.md/inner.md", "a b/c.md", "ünï.md"):
        (lib / rel).parent.mkdir(parents=True, exist_ok=True)
        (lib / rel).write_text("---\nslug: x\n---\n")
    outside = root / "outside"
    outside.mkdir()
    (outside / "o.md").write_text("x")
    (outside / "deep").mkdir()
    (outside / "deep" / "d.md").write_text("x")
    os.symlink(outside / "o.md", lib / "link-out.md")  # a symlinked file: listed, resolved
    os.symlink(lib / "b.md", lib / "alias.md")  # the same file twice: listed once
    os.symlink(outside / "deep", lib / "linked-dir")  # a symlinked folder: not entered
    os.symlink(root / "missing.md", lib / "broken.md")  # a broken symlink: not a file
    return lib


def test_discover_equals_rglob_definition(tmp_path):
    lib = tree(tmp_path)
    cases = [[lib], [lib / "a"], [lib, lib / "a"], [lib / "a" / "b.md", lib], [Path(os.path.relpath(lib))],
             [lib, tmp_path / "outside"]]
    for sources in cases:
        got = discover(sources)
        assert got == reference(sources), sources
        assert all(f.path == Path(f.display) and str(f.path) == f.display for f in got)
    names = [f.relpath for f in discover([lib])]
    assert names[:3] == [".dot/x.md", ".hidden.md", "A.md"] and "alias.md" in names and "b.md" not in names
    assert "link-out.md" in names and not any(n.startswith(("linked-dir", "broken", "x.MD")) for n in names)


def test_discover_relative_and_dot_sources(tmp_path, monkeypatch):
    lib = tree(tmp_path)
    monkeypatch.chdir(lib)
    assert discover([Path(".")]) == reference([Path(".")])
    monkeypatch.chdir(tmp_path)
    assert discover([Path("lib/")]) == reference([Path("lib/")])
    assert discover([Path("lib/a/../a")]) == reference([Path("lib/a/../a")])


def test_has_pattern_files_says_whether_discover_finds_any(tmp_path):
    lib = tree(tmp_path)
    (tmp_path / "empty" / "deep" / "deeper").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("not a pattern")
    (tmp_path / "nested" / "a" / "b").mkdir(parents=True)
    (tmp_path / "nested" / "a" / "b" / "only.md").write_text("x")
    (tmp_path / "linked-only").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "linked-only" / "dir")  # not entered: no file
    cases = [[lib], [lib / "a"], [tmp_path / "empty"], [tmp_path / "nested"], [tmp_path / "linked-only"],
             [tmp_path / "empty", tmp_path / "nested"], [tmp_path / "empty", tmp_path / "linked-only"],
             [tmp_path / "empty" / "notes.txt"]]
    answers = [has_pattern_files(sources) for sources in cases]
    assert answers == [bool(discover(sources)) for sources in cases]
    assert answers.count(False) == 3
