"""Generation artefacts: one built store generation as a file that replicas install and serve.

An artefact is three files side by side (``NAME`` = ``patternkg-<generation id>``)::

    NAME.tar.gz          the generation folder (its Oxigraph store, generation.json, sidecars)
    NAME.tar.gz.sha256   its SHA-256, in ``sha256sum`` format (``sha256sum -c`` checks it)
    NAME.json            metadata: generation, base_iri, source_digest, patternkg_version,
                         built_at, triples, archive, sha256, bytes

Contracts:

- :func:`package` reads the current generation of a store directory (generations are
  immutable, so a running server or build does not disturb it) and writes the three
  files atomically (each under a temporary name, then renamed); it never overwrites an
  existing artefact.
- :func:`install` checks the archive's SHA-256 against the expected one (the ``.sha256``
  file, the metadata, or *sha256*) **before** extracting anything, and refuses a
  mismatch (:class:`ArtefactRefused`). The archive must hold exactly one generation
  folder with relative members (tar's ``data`` filter: no absolute paths, no links out).
  The generation is extracted beside the store directory's generations, then moved into
  place and made current with one rename, as a build does
  (:mod:`patternkg.converter.storedir`): a server on that directory never sees it half
  written. Installing a generation the directory already has only makes it current.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patternkg.converter import storedir

__all__ = ["Artefact", "ArtefactRefused", "install", "package", "sha256_file"]

SUFFIX = ".tar.gz"
_METADATA_KEYS = ("generation", "base_iri", "source_digest", "patternkg_version", "built_at", "triples",
                  "patterns", "files")


class ArtefactRefused(Exception):
    """The artefact cannot be installed (checksum, layout); the message names the file."""


@dataclass(frozen=True)
class Artefact:
    archive: Path
    checksum_file: Path
    metadata_file: Path
    metadata: dict[str, Any]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def package(*, store: os.PathLike | str, output: os.PathLike | str) -> Artefact:
    """Package the current generation of the store directory *store* into the folder *output*."""
    generation = storedir.open_generation(store)
    if generation.external:
        raise ArtefactRefused(f"{store}: not a patternkg store directory (build it with `patternkg build --store`)")
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"patternkg-{generation.id}"
    archive = folder / (name + SUFFIX)
    checksum_file = folder / (name + SUFFIX + ".sha256")
    metadata_file = folder / (name + ".json")
    for existing in (archive, checksum_file, metadata_file):
        if existing.exists():
            raise ArtefactRefused(f"{existing}: already exists; an artefact is never overwritten")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{archive.name}.")
    os.close(fd)
    try:
        with tarfile.open(tmp, "w:gz", compresslevel=1) as tar:
            tar.add(generation.directory, arcname=generation.id, recursive=True)
        os.chmod(tmp, 0o644)
        sha256 = sha256_file(Path(tmp))
        os.replace(tmp, archive)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    metadata = {key: generation.metadata[key] for key in _METADATA_KEYS if key in generation.metadata}
    metadata.update({"archive": archive.name, "sha256": sha256, "bytes": archive.stat().st_size})
    _write_atomic(checksum_file, f"{sha256}  {archive.name}\n".encode())
    _write_atomic(metadata_file, (json.dumps(metadata, indent=2) + "\n").encode())
    return Artefact(archive, checksum_file, metadata_file, metadata)


def _expected(archive: Path, sha256: str | None) -> str:
    if sha256:
        return sha256.strip().lower()
    checksum_file = archive.with_name(archive.name + ".sha256")
    if checksum_file.is_file():
        fields = checksum_file.read_text(encoding="utf-8").split()
        if fields and len(fields[0]) == 64:
            return fields[0].lower()
        raise ArtefactRefused(f"{checksum_file}: not a sha256sum line")
    metadata_file = archive.with_name(archive.name.removesuffix(SUFFIX) + ".json")
    if metadata_file.is_file():
        value = json.loads(metadata_file.read_text(encoding="utf-8")).get("sha256")
        if isinstance(value, str) and len(value) == 64:
            return value.lower()
    raise ArtefactRefused(f"{archive}: no checksum to verify it against (expected {checksum_file.name} beside it)")


def install(*, artefact: os.PathLike | str, store: os.PathLike | str, sha256: str | None = None) -> storedir.Generation:
    """Verify *artefact* and install its generation into the store directory *store* (made current)."""
    archive = Path(artefact)
    if not archive.is_file():
        raise ArtefactRefused(f"{archive}: no such artefact")
    expected = _expected(archive, sha256)
    actual = sha256_file(archive)
    if actual != expected:
        raise ArtefactRefused(f"{archive}: checksum mismatch (expected sha256 {expected}, the file has {actual}); "
                              "refusing to install it")
    target = Path(store)
    storedir.check_target(target)
    target.mkdir(parents=True, exist_ok=True)
    (target / storedir.GENERATIONS).mkdir(exist_ok=True)
    (target / storedir.LEASES).mkdir(exist_ok=True)
    with storedir.build_lock(target):
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            tops = {Path(m.name).parts[0] for m in members if m.name not in ("", ".")}
            if len(tops) != 1:
                raise ArtefactRefused(f"{archive}: expected one generation folder, found {sorted(tops)[:5]}")
            ident = tops.pop()
            if ident.startswith(".") or "/" in ident:
                raise ArtefactRefused(f"{archive}: {ident!r} is not a generation id")
            for member in members:  # what tar's "data" filter checks, also where Python lacks it
                parts = Path(member.name).parts
                if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
                    raise ArtefactRefused(f"{archive}: refusing member {member.name!r} (only plain files and "
                                          "folders inside the generation)")
            final = target / storedir.GENERATIONS / ident
            if not final.is_dir():
                partial = Path(tempfile.mkdtemp(dir=target / storedir.GENERATIONS,
                                                prefix=f"{storedir.PARTIAL_PREFIX}{os.getpid()}-"))
                try:
                    try:
                        if hasattr(tarfile, "data_filter"):
                            tar.extractall(partial, members=members, filter="data")
                        else:  # Python < 3.11.4: the members were checked above
                            tar.extractall(partial, members=members)
                    except (tarfile.TarError, OSError) as exc:
                        raise ArtefactRefused(f"{archive}: cannot extract it: {exc}") from None
                    os.rename(partial / ident, final)
                finally:
                    shutil.rmtree(partial, ignore_errors=True)
        try:
            metadata = json.loads((final / storedir.GENERATION_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ArtefactRefused(f"{archive}: the generation has no readable {storedir.GENERATION_FILE}: {exc}") \
                from None
        link = target / f".{storedir.CURRENT}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.symlink(f"{storedir.GENERATIONS}/{ident}", link)
        os.replace(link, target / storedir.CURRENT)
        _write_atomic(target / storedir.METADATA_FILE, (json.dumps(metadata, indent=2) + "\n").encode())
    return storedir.open_generation(target)
