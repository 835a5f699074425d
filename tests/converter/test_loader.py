"""The build's loading machinery: its parser processes stop with it, and its store loader
streams batches into bulk loads of a bounded size (a real on-disk pyoxigraph store)."""

from __future__ import annotations

import os
import threading

import pytest
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Store

from patternkg.converter.pipeline import PARALLEL_THRESHOLD, load_library, _store_loader


def children() -> list[int]:
    """Process ids whose parent is this process."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == os.getpid():
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def test_a_failing_build_stops_its_parser_processes(corpus_dir, tmp_path):
    """A failure while the parser processes still have files to read (here, the recorder of the
    tenth file) reaches the caller, and no parser process outlives the build."""
    assert len(list(corpus_dir.rglob("*.md"))) > PARALLEL_THRESHOLD  # so the files go to parser processes
    recorded = []

    def recorder(source, result) -> None:
        recorded.append(source)
        if len(recorded) == 10:
            raise RuntimeError("recording failed")

    before = set(children())
    with pytest.raises(RuntimeError, match="recording failed"):
        load_library(Store(str(tmp_path / "store")), sources=[corpus_dir], base_iri="https://example.org/",
                     jobs=2, recorder=recorder)
    assert set(children()) <= before
    assert len(recorded) == 10


def batches(count: int, lines: int) -> list[bytes]:
    """*count* batches of *lines* triples each, non-ASCII literals long enough that pyoxigraph's
    reads (64 KiB) cut lines and characters apart."""
    out = []
    for b in range(count):
        out.append("".join(f"<https://example.org/s{b}-{i}> <https://example.org/p> \"é—{i:05d} {'ü' * 40}\" .\n"
                           for i in range(lines)).encode())
    return out


def quads(data: list[bytes]) -> set[Quad]:
    store = Store()
    store.bulk_load(b"".join(data), format=RdfFormat.N_TRIPLES)
    return set(store)


@pytest.mark.parametrize("load_bytes", [1, 300_000, 1 << 30], ids=["a-batch-a-load", "some-batches-a-load", "one-load"])
def test_every_batch_is_loaded_whatever_the_load_size(tmp_path, load_bytes):
    data = batches(7, 2000)  # 7 batches of ~200 KB
    store = Store(str(tmp_path / "store"))
    loader = _store_loader(store, load_bytes)
    for n, batch in enumerate(data):
        loader.put(batch)
        if n == 3:
            loader.end_load()
    loader.close()
    assert set(store) == quads(data)
    assert Quad(NamedNode("https://example.org/s6-1999"), NamedNode("https://example.org/p"),
                Literal(f"é—01999 {'ü' * 40}")) in set(store)


def test_a_loader_given_nothing_loads_nothing(tmp_path):
    store = Store(str(tmp_path / "store"))
    loader = _store_loader(store)
    loader.end_load()
    loader.close()
    assert len(store) == 0


def test_a_bad_batch_fails_the_load_and_never_blocks_the_producer(tmp_path):
    """Invalid N-Triples: close() raises the parser's error; the batches put after it (more than
    the queue holds) neither block nor hide it."""
    store = Store(str(tmp_path / "store"))
    loader = _store_loader(store, 1)
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            loader.put(batches(1, 10)[0])
            loader.put(b"<https://example.org/s> <https://example.org/p> \"unterminated .\n")
            for batch in batches(20, 10):
                try:
                    loader.put(batch)
                except SyntaxError as exc:  # the error, once the loader has seen it
                    errors.append(exc)
            loader.close()
        except BaseException as exc:  # noqa: BLE001 - checked below
            errors.append(exc)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    producer.join(60)
    assert not producer.is_alive(), "the producer blocked"
    assert errors and isinstance(errors[-1], SyntaxError), errors
