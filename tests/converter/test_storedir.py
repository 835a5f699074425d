"""Store directories: never delete foreign data, one build at a time, immutable generations, leases.

Real builds (the ``patternkg`` command in a subprocess where exit status and output
matter), real pyoxigraph stores, real flocks held by other processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, Quad, Store

from patternkg import __version__
from patternkg.converter.api import build
from patternkg.converter.pipeline import load_library, write_store
from patternkg.converter.storedir import (
    EXTERNAL, METADATA_FILE, Lease, NotAStore, StoreBusy, StoreRefused, StoreWriteError, build_lock, current_id,
    generation_ids, open_generation, open_store, remove_unused_generations, write_generation,
)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
BASE = "https://w3id.org/patternkg/library/"


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patternkg", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_a_folder_with_foreign_files_is_refused_and_left_alone(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.txt").write_text("thesis")
    result = cli("build", "--store", str(victim), "-q", cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result)
    assert str(victim) in line and "not a patternkg store" in line
    assert tree(victim) == {"thesis.txt": b"thesis"}


def test_the_source_folder_its_ancestors_the_working_directory_and_root_are_refused(tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(SEEDS, lib)
    before = tree(tmp_path)
    for target, cwd, words in ((lib, tmp_path, "source folder"), (tmp_path, tmp_path / "lib", "source folder"),
                               (Path("."), lib, "working directory"), (Path("/"), tmp_path, "root directory")):
        result = cli("build", str(lib), "--store", str(target), "-q", cwd=cwd)
        assert result.returncode == 2, (target, result.stderr)
        assert words in one_line(result) and str(target) in one_line(result)
    assert tree(tmp_path) == before


def test_an_oxigraph_store_written_by_another_tool_is_served_never_overwritten(tmp_path):
    foreign = tmp_path / "foreign"
    store = Store(str(foreign))
    store.add(Quad(NamedNode("http://example.org/s"), NamedNode("http://example.org/p"), NamedNode("http://example.org/o")))
    store.flush()
    del store
    before = tree(foreign)
    result = cli("build", "--store", str(foreign), "-q", cwd=tmp_path)
    assert result.returncode == 2 and "Oxigraph store not written by patternkg" in one_line(result)
    assert tree(foreign) == before
    generation = open_generation(foreign)
    assert generation.id == EXTERNAL and generation.external and generation.store_path == foreign
    assert len(open_store(foreign)) == 1


def test_a_file_is_refused_and_os_errors_are_one_line_with_status_1(tmp_path):
    (tmp_path / "afile").write_text("keep me")
    result = cli("build", "--store", str(tmp_path / "afile"), "-q", cwd=tmp_path)
    assert result.returncode == 2 and "is not a directory" in one_line(result)
    for target in (tmp_path / "afile" / "store", Path("/proc/patternkg-store")):
        result = cli("build", "--store", str(target), "-q", cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert str(target) in one_line(result)
    assert (tmp_path / "afile").read_text() == "keep me"


def _read_only(folder: Path, *command: str) -> list[str] | None:
    """*command* run where *folder* is read-only: a read-only bind mount in a user namespace
    (root ignores permission bits), else a chmod when not root; None when neither works."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0:
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'
        return ["unshare", "-rm", "sh", "-c", script, "sh", str(folder), *command]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return list(command)
    return None


def test_a_read_only_directory_is_one_line_with_status_1_and_the_store_intact(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    build(store=folder / "lib", sources=[SEEDS])
    before = tree(folder)
    for target in (folder / "lib", folder / "new"):
        command = _read_only(folder, sys.executable, "-m", "patternkg", "build", str(SEEDS), "--store", str(target), "-q")
        if command is None:
            pytest.skip("cannot make a read-only folder here (root without user namespaces)")
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        folder.chmod(0o755)
        assert result.returncode == 1, result.stderr
        line = one_line(result)
        assert str(target) in line and ("Read-only file system" in line or "Permission denied" in line)
    assert tree(folder) == before
    assert len(open_store(folder / "lib")) > 0


def test_a_second_build_fails_at_once_while_one_holds_the_lock(tmp_path, corpus_dir):
    target = tmp_path / "lib"
    first = subprocess.Popen([sys.executable, "-m", "patternkg", "build", str(corpus_dir), "--store", str(target),
                              "-q", "--jobs", "1"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list((target / "generations").glob(".partial-*")):
        time.sleep(0.01)
    started = time.monotonic()
    second = cli("build", str(SEEDS), "--store", str(target), "-q", cwd=tmp_path)
    assert time.monotonic() - started < 10
    assert second.returncode == 2
    line = one_line(second)
    assert "another build is writing this store" in line and f"process {first.pid}" in line
    assert first.wait(timeout=300) == 0 or first.returncode == 1, first.stderr.read()
    generation = open_generation(target)
    assert generation.metadata["files"] > 100  # the first build's library, whole


def test_the_lock_is_held_per_directory_and_released_on_exit(tmp_path):
    target = tmp_path / "lib"
    target.mkdir()
    with build_lock(target), pytest.raises(StoreBusy, match="another build"):
        build(store=target, sources=[SEEDS])
    build(store=target, sources=[SEEDS])  # released
    assert current_id(target)


def test_generations_metadata_and_pointer(tmp_path):
    target = tmp_path / "lib"
    report = build(store=target, sources=[SEEDS])
    first = open_generation(target)
    meta = first.metadata
    assert meta["format"] == "patternkg-store" and meta["format_version"] == 1
    assert meta["generation"] == first.id and meta["patternkg_version"] == __version__
    assert meta["base_iri"] == BASE and len(meta["source_digest"]) == 64 and meta["built_at"].endswith("Z")
    assert meta["triples"] == report.triples == len(open_store(target))
    assert json.loads((target / METADATA_FILE).read_text()) == meta
    assert os.readlink(target / "current") == f"generations/{first.id}"
    build(store=target, sources=[SEEDS], base_iri="https://example.org/lib/")
    second = open_generation(target)
    assert second.id != first.id and second.metadata["base_iri"] == "https://example.org/lib/"
    assert second.metadata["source_digest"] == meta["source_digest"]  # same files
    assert generation_ids(target) == [second.id]  # nothing served the first one: removed


def test_a_leased_generation_survives_builds_until_released(tmp_path):
    target = tmp_path / "lib"
    build(store=target, sources=[SEEDS])
    first = current_id(target)
    lease = Lease(target, first)
    assert lease.acquire()
    build(store=target, sources=[SEEDS])
    build(store=target, sources=[SEEDS])
    ids = generation_ids(target)
    assert first in ids and len(ids) == 2 and current_id(target) == ids[-1] != first
    assert len(Store.read_only(str(target / "generations" / first / "store"))) > 0
    lease.release()
    assert remove_unused_generations(target) == [first]
    assert generation_ids(target) == [current_id(target)]


def test_a_lease_held_by_a_killed_process_pins_nothing(tmp_path):
    target = tmp_path / "lib"
    build(store=target, sources=[SEEDS])
    first = current_id(target)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from patternkg.converter.storedir import Lease; "
        f"assert Lease(__import__('pathlib').Path({str(target)!r}), {first!r}).acquire(); print('held', flush=True); "
        "time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    build(store=target, sources=[SEEDS])
    assert first in generation_ids(target)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert remove_unused_generations(target) == [first]


def test_sidecars_run_on_the_filled_store_before_the_pointer_moves(tmp_path):
    target = tmp_path / "lib"
    seen = {}

    def fill(store: Store):
        return load_library(store, sources=[SEEDS], base_iri=BASE).report

    def writer(store: Store, directory: Path, report) -> None:
        seen["pointer"] = current_id(target)
        seen["report"] = report.triples
        (directory / "count.txt").write_text(str(len(store)))

    report = write_generation(target, fill, sidecars=[("count", writer)], report=lambda r: r)
    generation = open_generation(target)
    assert seen == {"pointer": None, "report": report.triples}
    assert (generation.directory / "count.txt").read_text() == str(report.triples)
    assert generation.metadata["sidecars"] == ["count"]

    def broken(store: Store, directory: Path, report) -> None:
        raise RuntimeError("sidecar failed (simulated)")

    with pytest.raises(RuntimeError):
        write_generation(target, fill, sidecars=[("broken", broken)])
    assert open_generation(target).id == generation.id
    assert not list((target / "generations").glob(".partial-*"))


def test_an_os_error_elsewhere_is_not_called_a_failure_to_write_the_store(tmp_path):
    target = tmp_path / "lib"

    def fill(store: Store):
        return load_library(store, sources=[SEEDS], base_iri=BASE).report

    def reading(store: Store, directory: Path, report) -> None:
        (tmp_path / "package" / "missing.sql").read_text()

    def writing(store: Store, directory: Path, report) -> None:
        (directory / "no-such-folder" / "sidecar.sqlite").write_text("x")

    with pytest.raises(StoreWriteError) as elsewhere:
        write_generation(target, fill, sidecars=[("reading", reading)])
    assert str(elsewhere.value) == (f"{tmp_path / 'package' / 'missing.sql'}: No such file or directory "
                                    f"(while building the store {target})")
    with pytest.raises(StoreWriteError) as inside:
        write_generation(target, fill, sidecars=[("writing", writing)])
    assert str(inside.value).endswith("sidecar.sqlite: cannot write the store: No such file or directory")
    assert current_id(target) is None and not list((target / "generations").glob(".partial-*"))


def test_the_sidecar_list_is_one_module_of_importable_writers():
    from patternkg.converter.sidecars import SIDECARS, load_writers

    writers = load_writers()
    assert [name for name, _ in writers] == [name for name, _ in SIDECARS]
    assert all(callable(fn) for _, fn in writers)
    assert load_writers([("digest", "hashlib:sha256")])[0][1] is __import__("hashlib").sha256


def test_a_new_generation_can_start_from_a_copy_of_the_current_one(tmp_path):
    target = tmp_path / "lib"
    build(store=target, sources=[SEEDS])
    before = len(open_store(target))
    extra = Quad(NamedNode("http://example.org/s"), NamedNode("http://example.org/p"), NamedNode("http://example.org/o"))

    def add(store: Store) -> int:
        store.add(extra)
        return len(store)

    assert write_store(target, add, from_current=True) == before + 1
    assert len(open_store(target)) == before + 1


def test_not_a_store(tmp_path):
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "empty", tmp_path / "missing", SEEDS):
        with pytest.raises(NotAStore, match="not"):
            open_generation(path)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / METADATA_FILE).write_text('{"format": "patternkg-store", "format_version": 1}')
    with pytest.raises(NotAStore, match="without a finished build"):
        open_generation(tmp_path / "half")
    with pytest.raises(StoreRefused):
        build(store=SEEDS, sources=[SEEDS])
