"""``patternkg diff``: two git refs of a temporary repository, and two folders."""

from __future__ import annotations

import json
import os
import shutil

from click.testing import CliRunner

from patternkg.cli import main


def _change(repo, gitlib):
    """alpha renamed alpha-two (same id), its weight fixed; gamma removed; delta added with a new
    entity and community; beta's weight and an inferred confidence changed."""
    lib = repo / "lib"
    alpha = (lib / "alpha.md").read_text().replace("slug: alpha", "slug: alpha-two").replace("weight: 1.5", "weight: 0.5")
    gitlib.git(repo, "mv", "lib/alpha.md", "lib/alpha-two.md")
    (lib / "alpha-two.md").write_text(alpha)
    gamma = (lib / "gamma.md").read_text()
    gitlib.git(repo, "rm", "-q", "lib/gamma.md")
    delta = gamma.replace("slug: gamma", "slug: delta").replace("pat_01gggggggggggggggggggggggg",
                                                                "pat_01dddddddddddddddddddddddd")
    delta = delta.replace("id: test-entity", "id: fresh-entity").replace("id: testers", "id: new-circle")
    (lib / "delta.md").write_text(delta)
    beta = (lib / "beta.md").read_text().replace("weight: 0.8", "weight: 0.3").replace("confidence: 0.8",
                                                                                       "confidence: 0.6")
    (lib / "beta.md").write_text(beta)
    return gitlib.commit(repo, "the change")


def test_diff_of_two_refs(tmp_path, gitlib, monkeypatch):
    repo = gitlib.make_repo(tmp_path / "repo")
    _change(repo, gitlib)
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["diff", "HEAD~1", "HEAD", "--path", "lib", "--format", "json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    p = d["patterns"]
    assert [x["slug"] for x in p["added"]] == ["delta"] and [x["slug"] for x in p["removed"]] == ["gamma"]
    assert p["renamed"] == [{"id": "pat_01aaaaaaaaaaaaaaaaaaaaaaaa", "old": "alpha", "new": "alpha-two"}]
    assert p["changed"] == ["beta"]  # renamed patterns are listed as renamed only
    rel = d["relationships"]
    assert {"source": "alpha-two", "kind": "enables", "target": "beta", "old": "1.5", "new": "0.5"} in \
        rel["weight_changed"]
    # beta still requires "alpha", which the rename left dangling: that link is now to a different node
    assert {"source": "beta", "kind": "requires", "target": "alpha", "weight": "0.3"} in rel["added"]
    assert any(x["source"] == "gamma" for x in rel["removed"]) and any(x["source"] == "delta" for x in rel["added"])
    inferred = d["inferred"]
    assert all(x["source"] != "alpha-two" or x["target"] != "beta" for x in inferred["added"])  # rename alone: no change
    assert d["entities"]["added"] == ["fresh-entity"] and d["entities"]["removed"] == []
    assert d["communities"]["added"] == ["new-circle"]
    assert {"pattern": "gamma", "membership": "testers"} in d["communities"]["memberships_removed"]
    v = d["validation"]
    assert v["old"]["violation"] == 1 and v["new"]["violation"] == 0
    assert v["fixed_results"]["RelationshipShape/weight"] == 1
    # the working tree and HEAD were not touched
    assert gitlib.git(repo, "status", "--porcelain") == ""

    text = CliRunner().invoke(main, ["diff", "HEAD~1", "HEAD", "--path", "lib"]).stdout
    assert text.startswith("patternkg diff HEAD~1 HEAD: patterns +1 -1 renamed 1")
    assert "~ renamed alpha -> alpha-two (pat_01aaaaaaaaaaaaaaaaaaaaaaaa)" in text
    assert "~ alpha-two enables beta: weight 1.5 -> 0.5" in text
    markdown = CliRunner().invoke(main, ["diff", "HEAD~1", "HEAD", "--path", "lib", "-f", "markdown",
                                         "--no-validation"]).stdout
    assert markdown.startswith("## patternkg diff `HEAD~1` → `HEAD`") and "### Curated relationships" in markdown
    assert "### Validation" not in markdown


def test_diff_of_two_folders_and_bad_sides(tmp_path, gitlib):
    repo = gitlib.make_repo(tmp_path / "repo")
    old = tmp_path / "old"
    shutil.copytree(repo / "lib", old)
    _change(repo, gitlib)
    result = CliRunner().invoke(main, ["diff", str(old), str(repo / "lib"), "--no-validation", "-f", "json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["patterns"]["renamed"][0]["new"] == "alpha-two" and d["validation"] is None
    same = json.loads(CliRunner().invoke(main, ["diff", str(old), str(old), "-f", "json"]).stdout)
    assert not any(same["patterns"].values()) and not any(same["relationships"].values())
    assert same["validation"]["new_results"] == {} and same["validation"]["fixed_results"] == {}
    os.chdir(tmp_path)  # not a checkout: a ref cannot be read
    try:
        bad = CliRunner().invoke(main, ["diff", "HEAD", str(old)])
    finally:
        os.chdir(repo)
    assert bad.exit_code == 2 and "HEAD" in bad.output
