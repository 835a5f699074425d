"""A library with one broken file is still a library; wrong stores and options get one line.

The ``patternkg`` command runs in a subprocess (exit status, stderr, no traceback);
``serve --get`` answers through the real app and its real query workers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patternkg.converter.storedir import open_generation

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "distributed-organizing.md"
BAD = Path(__file__).resolve().parent / "bad"
PATTERN = "/pattern/distributed-organizing"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "patternkg", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=180)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture()
def library(tmp_path: Path) -> Path:
    """The seed pattern, one file with broken YAML and one with a warning."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(SEED, lib)
    shutil.copy(BAD / "yaml-syntax.md", lib)
    shutil.copy(BAD / "weight-high.md", lib)
    return lib


def test_quiet_build_counts_every_warning_and_strict_says_why(library: Path, tmp_path: Path) -> None:
    quiet = run("build", str(library), "--store", str(tmp_path / "s"), "-q", cwd=tmp_path)
    assert quiet.returncode == 1
    assert "warnings: 1" in quiet.stderr and "weight-high.md:25" not in quiet.stderr  # counted, not listed
    assert "yaml-syntax.md:9" in quiet.stderr and "errors: 1 in 1 file(s)" in quiet.stderr
    assert quiet.stderr.strip().endswith("patternkg: exit status 1: 1 file(s) could not be converted")
    only_warnings = tmp_path / "warn"
    only_warnings.mkdir()
    shutil.copy(library / "weight-high.md", only_warnings)
    strict = run("build", str(only_warnings), "--store", str(tmp_path / "w"), "-q", "--strict", cwd=tmp_path)
    assert strict.returncode == 1
    assert "weight-high.md:25: warning:" in strict.stderr  # the warning that fails the build is listed
    assert strict.stderr.strip().endswith("patternkg: exit status 1: 1 warning(s) with --strict")
    assert run("build", str(only_warnings), "--store", str(tmp_path / "w"), "-q", cwd=tmp_path).returncode == 0


def test_an_empty_folder_is_reported_unless_allowed(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a pattern")
    for command in (["build", str(empty), "--store", str(tmp_path / "s")], ["export", str(empty)],
                    ["serve", str(empty), "--get", "/"], ["query", "stats", str(empty)]):
        result = run(*command, cwd=tmp_path)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr.strip() == f"patternkg: no pattern files (*.md) found in {empty} (--allow-empty accepts that)"
    allowed = run("build", str(empty), "--store", str(tmp_path / "s"), "--allow-empty", "-q", cwd=tmp_path)
    assert allowed.returncode == 0 and "patterns: 0" in allowed.stderr


def test_base_iri_is_normalised_checked_and_read_from_the_store(tmp_path: Path) -> None:
    store = tmp_path / "s"
    built = run("build", str(SEED), "--store", str(store), "--base-iri", "https://example.org/lib", "-q", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert open_generation(store).metadata["base_iri"] == "https://example.org/lib/"
    bad = run("build", str(SEED), "--store", str(tmp_path / "t"), "--base-iri", "not an iri", cwd=tmp_path)
    assert bad.returncode == 2 and "is not an absolute IRI" in bad.stderr
    # without --base-iri, the store's own is used: the pattern is found
    served = run("serve", "--store", str(store), "--get", PATTERN, "--accept", "application/n-triples", cwd=tmp_path)
    assert served.returncode == 0, served.stderr
    assert "<https://example.org/lib/pattern/distributed-organizing> " in served.stdout
    query = run("query", "neighbours", "--param", "pattern=distributed-organizing", "--store", str(store),
                "--format", "json", cwd=tmp_path)
    assert query.returncode == 0, query.stderr
    exported = run("export", "--store", str(store), "--format", "turtle", cwd=tmp_path)
    assert exported.returncode == 0 and "@prefix lib: <https://example.org/lib/" in exported.stdout
    # another base IRI than the store's: refused with one line, for every command
    for command in (["serve", "--store", str(store), "--get", PATTERN], ["export", "--store", str(store)],
                    ["query", "stats", "--store", str(store)]):
        result = run(*command, "--base-iri", "https://w3id.org/patternkg/library/", cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.strip() == (f"patternkg: {store} was built with --base-iri https://example.org/lib/, "
                                         "not https://w3id.org/patternkg/library/: its patterns would not be found; "
                                         "omit --base-iri to use the store's")
    same = run("serve", "--store", str(store), "--base-iri", "https://example.org/lib/", "--get", PATTERN, cwd=tmp_path)
    assert same.returncode == 0


def test_a_store_option_that_is_no_store_is_one_line_with_status_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.txt").write_text("a")
    for folder in (tmp_path / "empty", tmp_path / "files"):
        for command in (["serve", "--store", str(folder)], ["export", "--store", str(folder)],
                        ["query", "stats", "--store", str(folder)]):
            result = run(*command, cwd=tmp_path)
            assert result.returncode == 2, (command, result.stderr)
            assert result.stderr.strip() == (f"patternkg: {folder}: not a store (neither written by "
                                             "`patternkg build --store` nor an Oxigraph store)")
            assert "serving" not in result.stdout


def test_serve_source_serves_what_converts_and_strict_refuses(library: Path, tmp_path: Path) -> None:
    served = run("serve", str(library), "--get", PATTERN, "--accept", "text/turtle", cwd=tmp_path)
    assert served.returncode == 0, served.stderr
    assert "distributed-organizing" in served.stdout
    assert f"{library / 'yaml-syntax.md'}:9" in served.stderr and "1 file(s) skipped (errors above)" in served.stderr
    strict = run("serve", str(library), "--strict", "--get", PATTERN, cwd=tmp_path)
    assert strict.returncode == 1
    assert "1 file(s) could not be converted (--strict): nothing served" in strict.stderr and not strict.stdout


def test_query_source_reports_skipped_files(library: Path, tmp_path: Path) -> None:
    result = run("query", "stats", str(library), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{library / 'yaml-syntax.md'}:9" in result.stderr
    assert "patternkg: 1 file(s) skipped (errors above); the query ran on the rest" in result.stderr
