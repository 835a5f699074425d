"""``validate --since`` and ``--baseline`` on a real temporary git repository."""

from __future__ import annotations

import json

from click.testing import CliRunner

from patternkg.cli import main


def _run(args: list[str]) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["validate", "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def _keys(rows: list[dict]) -> set[tuple[str, str, str]]:
    return {(r["shape"], r["file"], r["field"]) for r in rows}


def test_since_reports_exactly_the_added_and_the_fixed_problem(tmp_path, gitlib):
    repo = gitlib.make_repo(tmp_path / "repo")
    base = gitlib.git(repo, "rev-parse", "HEAD").strip()
    gitlib.set_weight(repo / "lib" / "beta.md", "0.8", "2.5")  # adds a problem
    gitlib.commit(repo, "beta: a weight out of range")
    gitlib.set_weight(repo / "lib" / "alpha.md", "1.5", "0.5")  # fixes the base's problem
    gitlib.commit(repo, "alpha: weight in range")
    head = gitlib.git(repo, "rev-parse", "HEAD").strip()

    code, data = _run([str(repo / "lib"), "--since", base])
    new = [r for r in data["results"] if r["status"] == "new"]
    assert _keys(new) == {("RelationshipShape/weight", "lib/beta.md", "relationships.requires[0].weight")}
    assert _keys(data["fixed"]) == {("RelationshipShape/weight", "lib/alpha.md", "relationships.enables[0].weight")}
    assert data["summary"]["new"] == 1 and data["summary"]["fixed"] == 1 and data["summary"]["since"] == base
    assert code == 1  # the new violation fails the run
    # git itself was asked: the working tree, the index and HEAD are as they were
    assert gitlib.git(repo, "status", "--porcelain") == "" and gitlib.git(repo, "rev-parse", "HEAD").strip() == head

    # since the previous commit only the fix is reported: nothing new, the run passes
    code, data = _run([str(repo / "lib"), "--since", "HEAD~1"])
    assert code == 0 and data["summary"]["new"] == 0
    assert _keys(data["fixed"]) == {("RelationshipShape/weight", "lib/alpha.md", "relationships.enables[0].weight")}
    # the unrelated file is neither changed nor a neighbour: not checked
    assert all(r["file"] != "lib/gamma.md" for r in data["results"] + data["fixed"])


def test_since_sees_uncommitted_and_untracked_files_and_follows_renames(tmp_path, gitlib):
    repo = gitlib.make_repo(tmp_path / "repo")
    gitlib.git(repo, "mv", "lib/alpha.md", "lib/alpha-moved.md")
    text = (repo / "lib" / "alpha-moved.md").read_text().replace("slug: alpha", "slug: alpha-moved")
    (repo / "lib" / "alpha-moved.md").write_text(text)
    delta = (repo / "lib" / "gamma.md").read_text().replace("slug: gamma", "slug: delta").replace(
        "pat_01gggggggggggggggggggggggg", "pat_01dddddddddddddddddddddddd")
    (repo / "lib" / "delta.md").write_text(delta.replace("weight: 0.8", "weight: 7"))  # untracked, one problem
    code, data = _run([str(repo / "lib"), "--since", "HEAD"])
    new = _keys(r for r in data["results"] if r["status"] == "new")
    assert ("RelationshipShape/weight", "lib/delta.md", "relationships.requires[0].weight") in new
    # the moved file keeps its weight problem: unchanged, not new and fixed
    assert not any(f == "lib/alpha-moved.md" and s == "RelationshipShape/weight" for s, f, _ in new)
    assert not any(r["shape"] == "RelationshipShape/weight" for r in data["fixed"])


def test_since_outside_git_or_with_an_unknown_ref_is_a_usage_error(tmp_path, gitlib):
    repo = gitlib.make_repo(tmp_path / "repo")
    result = CliRunner().invoke(main, ["validate", str(repo / "lib"), "--since", "no-such-ref"])
    assert result.exit_code == 2 and "no-such-ref" in result.output
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "beta.md").write_text((repo / "lib" / "beta.md").read_text())
    result = CliRunner().invoke(main, ["validate", str(plain), "--since", "HEAD"])
    assert result.exit_code == 2 and "not inside a git checkout" in result.output


def test_baseline_keeps_known_results_known_across_line_shifts(tmp_path, gitlib):
    repo = gitlib.make_repo(tmp_path / "repo")
    baseline = tmp_path / "baseline.json"
    runner = CliRunner()
    written = runner.invoke(main, ["validate", str(repo / "lib"), "--write-baseline", str(baseline)])
    assert written.exit_code == 1  # the known problem still fails a run without the baseline
    rows = json.loads(baseline.read_text())["results"]
    assert ("RelationshipShape/weight", "lib/alpha.md") in {(r["rule"], r["file"]) for r in rows}

    # shift every line of alpha.md (a new alias and a new relationship before the bad one)
    alpha = repo / "lib" / "alpha.md"
    text = alpha.read_text().replace("aliases: []", "aliases:\n  - \"First\"\n  - \"Second\"\n  - \"Third\"")
    text = text.replace("  enables:\n", "  enables:\n    - slug: gamma\n      weight: 0.4\n")
    alpha.write_text(text)
    code, data = _run([str(repo / "lib"), "--baseline", str(baseline)])
    weight = [r for r in data["results"] if r["shape"] == "RelationshipShape/weight"]
    assert len(weight) == 1 and weight[0]["status"] == "known" and weight[0]["line"] > 40
    # the only new result is the one the new relationship brings (gamma does not state it back)
    assert {r["shape"] for r in data["results"] if r["status"] == "new"} == {"InversePairShape"}
    assert code == 0 and data["summary"]["known"] == 3

    # a second weight problem in the same file is new, and fails the run
    gitlib.set_weight(alpha, "0.4", "3")
    code, data = _run([str(repo / "lib"), "--baseline", str(baseline)])
    statuses = sorted(r["status"] for r in data["results"] if r["shape"] == "RelationshipShape/weight")
    assert statuses == ["known", "new"] and code == 1


def test_a_broken_baseline_names_the_file(tmp_path, gitlib):
    repo = gitlib.make_repo(tmp_path / "repo")
    bad = tmp_path / "bad.json"
    bad.write_text("{\"results\": []}")
    result = CliRunner().invoke(main, ["validate", str(repo / "lib"), "--baseline", str(bad)])
    assert result.exit_code == 2 and str(bad) in result.output and "not a patternkg baseline" in result.output


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_kept_base_tree_is_updated_by_git_diff_only(tmp_path, gitlib):
    """--since with a kept index keeps the base tree too; moving the base rewrites only what git diff names."""
    from patternkg.shapes.since import extract, mirror

    repo = gitlib.make_repo(tmp_path / "repo")
    first = gitlib.git(repo, "rev-parse", "HEAD").strip()
    gitlib.set_weight(repo / "lib" / "beta.md", "0.8", "0.2")
    gitlib.git(repo, "rm", "-q", "lib/gamma.md")
    (repo / "lib" / "delta.md").write_text((repo / "lib" / "beta.md").read_text().replace("slug: beta", "slug: delta"))
    second = gitlib.commit(repo, "move the base")
    home = tmp_path / "index.since"
    tree = mirror(repo, first, ["lib"], home)
    assert (home / "commit").read_text().strip() == first
    untouched = (tree / "lib" / "alpha.md").stat().st_mtime_ns
    expected = tmp_path / "expected"
    for ref in (second, first, second):
        tree = mirror(repo, ref, ["lib"], home)
        expected.mkdir()
        extract(repo, ref, ["lib"], expected)
        assert _tree(tree) == _tree(expected)
        assert (home / "commit").read_text().strip() == gitlib.git(repo, "rev-parse", ref).strip()
        import shutil

        shutil.rmtree(expected)
    assert (tree / "lib" / "alpha.md").stat().st_mtime_ns == untouched  # not in any diff: never rewritten
    (home / "commit").unlink()  # an interrupted update: extracted anew
    (tree / "lib" / "stray.md").write_text("left over")
    tree = mirror(repo, first, ["lib"], home)
    assert "lib/stray.md" not in _tree(tree) and "lib/gamma.md" in _tree(tree)


def test_stub_libraries_give_the_same_new_and_fixed_results_as_whole_ones(tmp_path, gitlib, corpus_dir):
    """Large libraries are checked as the checked files plus stubs (id and slug only) for the
    rest; cross-pattern changes (a retargeted relationship, a duplicated id) give the same new
    and fixed results, and the same results in the changed files, as the whole library."""
    import re
    import shutil

    from patternkg.shapes.since import validate_since
    from patternkg.shapes.validation import validate

    repo = tmp_path / "repo"
    lib = repo / "lib"
    lib.mkdir(parents=True)
    files = sorted(corpus_dir.glob("*.md"))[:240]
    for f in files:
        shutil.copyfile(f, lib / f.name)
    gitlib.git(repo, "init", "-q", "-b", "main")
    gitlib.commit(repo, "library")
    ids = {p.name: m.group(1) for p in sorted(lib.glob("*.md"))
           if (m := re.search(r"^id:\s*(pat_\w+)", p.read_text(), re.MULTILINE))}
    linking = [p for p in sorted(lib.glob("*.md")) if re.search(r"^\s+- slug: [a-z]", p.read_text(), re.MULTILINE)]
    a = linking[len(linking) // 2]
    target = sorted(lib.glob("*.md"))[7].stem
    a.write_text(re.sub(r"^(\s+- slug: )\S+", rf"\g<1>{target}", a.read_text(), count=1, flags=re.MULTILINE))
    b, c = [name for name in ids if lib / name != a][10:12]
    (lib / b).write_text((lib / b).read_text().replace(ids[b], ids[c], 1))
    gitlib.commit(repo, "retarget one relationship, duplicate one id")

    def outcome(stubs: bool):
        r = validate_since(ref="HEAD~1", sources=[lib], validate=validate, stubs=stubs)
        def key(e):
            return (e.result.shape, e.file, e.result.field, e.result.value)
        changed = sorted(key(e) + (e.status,) for e in r.entries if e.file in r.changed_files)
        return sorted(key(e) for e in r.entries if e.status == "new"), sorted(key(e) for e in r.fixed), changed

    stubbed, whole = outcome(True), outcome(False)
    assert stubbed == whole
    new = {(shape, file) for shape, file, *_ in whole[0]}
    assert ("DuplicateIdShape", f"lib/{b}") in new and ("DuplicateIdShape", f"lib/{c}") in new
    assert any(file == f"lib/{a.name}" for _shape, file in new)


def test_stubs_follow_renames_deletions_and_untracked_files(tmp_path, gitlib):
    from patternkg.shapes.since import validate_since
    from patternkg.shapes.validation import validate

    repo = gitlib.make_repo(tmp_path / "repo")
    gitlib.git(repo, "mv", "lib/alpha.md", "lib/alpha-moved.md")
    moved = repo / "lib" / "alpha-moved.md"
    moved.write_text(moved.read_text().replace("slug: alpha", "slug: alpha-moved"))
    delta = (repo / "lib" / "gamma.md").read_text().replace("slug: gamma", "slug: delta").replace(
        "pat_01gggggggggggggggggggggggg", "pat_01dddddddddddddddddddddddd")
    (repo / "lib" / "delta.md").write_text(delta.replace("weight: 0.8", "weight: 7"))
    (repo / "lib" / "gamma.md").unlink()

    def outcome(stubs: bool):
        r = validate_since(ref="HEAD", sources=[repo / "lib"], validate=validate, stubs=stubs)
        return (sorted((e.result.shape, e.file, e.status) for e in r.entries
                       if e.status == "new" or e.file in r.changed_files),
                sorted((e.result.shape, e.file) for e in r.fixed))

    stubbed = outcome(True)
    assert stubbed == outcome(False)
    assert ("RelationshipShape/weight", "lib/alpha-moved.md", "unchanged") in stubbed[0]
    assert ("RelationshipShape/weight", "lib/delta.md", "new") in stubbed[0]
    assert ("UnresolvedTargetShape", "lib/gamma.md") in stubbed[1]


def test_since_with_kept_indexes_equals_without_and_seeds_the_base_index(tmp_path, gitlib):
    """--since with --index: the first run seeds the base tree's index from the working tree's
    (no second full validation); that run, the next one and a run without indexes agree."""
    from patternkg.shapes.index import read_meta
    from patternkg.shapes.runner import make_report
    from patternkg.shapes.since import seed_base

    repo = gitlib.make_repo(tmp_path / "repo")
    base = gitlib.git(repo, "rev-parse", "HEAD").strip()
    gitlib.set_weight(repo / "lib" / "beta.md", "0.8", "2.5")  # adds a problem
    gitlib.set_weight(repo / "lib" / "alpha.md", "1.5", "0.5")  # fixes one
    (repo / "lib" / "gamma.md").write_text((repo / "lib" / "gamma.md").read_text().replace("title:", "# moved\ntitle:"))
    gitlib.commit(repo, "two weights, one line")

    def seen(report) -> tuple:
        return (sorted((e.file, e.result.shape, e.result.field, e.result.line, e.status) for e in report.entries),
                sorted((e.file, e.result.shape, e.result.field, e.result.line) for e in report.fixed))

    plain = seen(make_report(sources=[repo / "lib"], since=base))
    index = tmp_path / "kept" / "index"
    assert seen(make_report(sources=[repo / "lib"], since=base, index=index)) == plain
    base_index = tmp_path / "kept" / "index.since" / "index"
    meta = read_meta(base_index)
    assert meta["dirty"] is False
    assert meta["sources"] == [str((tmp_path / "kept" / "index.since" / "tree" / "lib").resolve())]
    assert seen(make_report(sources=[repo / "lib"], since=base, index=index)) == plain  # both reused
    assert plain[0] and plain[1]  # something new and something fixed
    assert not seed_base(index, base_index, [repo / "lib"], [tmp_path / "kept" / "index.since" / "tree" / "lib"])

    # neighbours from the indexes: a new pattern resolves gamma's dangling target (fixed in gamma,
    # which did not change); a removed one leaves alpha's link to it dangling (new in alpha)
    zeta = (repo / "lib" / "beta.md").read_text().replace("slug: beta", "slug: zeta")
    (repo / "lib" / "zeta.md").write_text(zeta.replace("pat_01bbbbbbbbbbbbbbbbbbbbbbbb", "pat_01zzzzzzzzzzzzzzzzzzzzzzzz"))
    gitlib.git(repo, "rm", "-q", "lib/beta.md")
    gitlib.commit(repo, "zeta in, beta out")
    plain = seen(make_report(sources=[repo / "lib"], since="HEAD~1"))
    for _run in range(2):
        assert seen(make_report(sources=[repo / "lib"], since="HEAD~1", index=index)) == plain
    assert any(row[0] == "lib/gamma.md" for row in plain[1]) and any(row[0] == "lib/alpha.md" for row in plain[0])

    # the seed itself: a copy of the working tree's index, renamed, every stamp cleared
    fresh = tmp_path / "fresh"
    assert seed_base(index, fresh, [repo / "lib"], [tmp_path / "kept" / "index.since" / "tree" / "lib"])
    import sqlite3

    rows = sqlite3.connect(fresh / "files.sqlite").execute("SELECT display, mtime_ns FROM files ORDER BY ord").fetchall()
    tree = tmp_path / "kept" / "index.since" / "tree" / "lib"
    # zeta is not in the base tree: kept under its name, so the first check removes it
    assert rows == [(str(tree / "alpha.md"), 0), (str(tree / "gamma.md"), 0), (str(repo / "lib" / "zeta.md"), 0)]
