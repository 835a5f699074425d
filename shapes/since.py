"""``validate --since REF``: what a change did, from git itself, without touching the working tree.

Contract of :func:`validate_since`: inside a git checkout, the library named by
*sources* is validated as it is (the working tree, uncommitted and untracked files
included) and as it was at *ref* (read with ``git archive`` into a temporary
directory; ``git diff``, ``git grep``, ``git ls-tree`` and ``git show`` answer the
rest; no checkout, stash or index change). Only what the change can affect is
checked, on both sides, through the partial-validation entry point
(``validate(only=...)``):

- the changed Markdown files (``git diff -M REF`` plus untracked files; renames are
  followed, so a moved file's results stay the same results);
- their *neighbours*: every file of the library, at either side, that mentions the
  slug (file name) or the ``id`` of a changed file, which is where the cross-pattern
  checks (one-sided relations, unresolved targets, duplicate ids) put their results
  on the other end. Mentioning is a plain text match, so the set is a superset.

Results of the two runs are matched by :func:`~.baseline.fingerprint`; the report's
entries are the current results of the checked files, each ``new`` or
``unchanged``, and :attr:`~.outcome.Report.fixed` holds the results at *ref* that are
gone. Results of files outside the checked set are the same on both sides by
construction and are not reported. With ``index`` among the options (a kept
validation index, ``validate --index DIR``), the working tree is checked with that
index and the base with a kept copy of the base tree and its own index
(``DIR.since/``, see :func:`mirror`; seeded from ``DIR`` the first time), so both
sides convert only what changed since the last run, and the neighbours are found in the
indexes instead of by ``git grep`` (:func:`_with_index`): nothing is read per file of
the library but a ``stat``. Raises :class:`SinceError` (naming the git
command and its message) outside a checkout or for an unknown ref.
"""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from patternkg.shapes.baseline import fingerprint
from patternkg.shapes.outcome import Entry, Report, from_validation, mark, rules_of
from patternkg.shapes.severities import RANK

_ID = re.compile(r"^id:\s*['\"]?([A-Za-z0-9_\-]+)", re.MULTILINE)


class SinceError(RuntimeError):
    """git could not answer (not a checkout, unknown ref, ...)."""


def git(*args: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise SinceError("git is not installed (needed by --since)") from exc
    if done.returncode not in ok:
        message = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        raise SinceError(f"git {' '.join(args[:3])}: {message}")
    return done.stdout


def repo_root(cwd: Path | None = None) -> Path | None:
    """The top of the git checkout holding *cwd*, or None outside one."""
    try:
        out = git("rev-parse", "--show-toplevel", cwd=cwd or Path.cwd())
    except SinceError:
        return None
    return Path(out.decode().strip())


@dataclass
class Change:
    """Paths relative to the repository top (POSIX)."""

    added_or_modified: set[str]  # exist in the working tree
    deleted: set[str]  # existed at the ref only
    renamed: dict[str, str]  # old path -> new path

    untracked: set[str] = field(default_factory=set)  # new files git does not track yet

    @property
    def now(self) -> set[str]:
        return self.added_or_modified | set(self.renamed.values())

    @property
    def before(self) -> set[str]:
        return (self.added_or_modified | self.deleted | set(self.renamed)) - self.untracked


def _pathspecs(top: Path, sources: Sequence[Path]) -> list[str]:
    out = []
    for source in sources:
        rel = Path(os.path.abspath(source)).relative_to(top).as_posix()
        out.append(rel or ".")
    return out


def changed(top: Path, ref: str, specs: list[str]) -> Change:
    """The Markdown files that differ between *ref* and the working tree."""
    raw = git("diff", "--name-status", "-z", "-M", "--no-ext-diff", ref, "--", *specs, cwd=top).split(b"\0")
    changed_, deleted, renamed = set(), set(), {}
    i = 0
    while i < len(raw) - 1:
        status = raw[i].decode()
        if status.startswith(("R", "C")):
            old, new = raw[i + 1].decode(), raw[i + 2].decode()
            i += 3
            if status.startswith("R"):
                renamed[old] = new
            else:
                changed_.add(new)
            continue
        path = raw[i + 1].decode()
        i += 2
        (deleted if status == "D" else changed_).add(path)
    untracked = {p.decode() for p in git("ls-files", "--others", "--exclude-standard", "-z", "--", *specs,
                                         cwd=top).split(b"\0") if p}
    md = lambda paths: {p for p in paths if p.endswith(".md")}  # noqa: E731
    return Change(md(changed_ | untracked), md(deleted),
                  {o: n for o, n in renamed.items() if o.endswith(".md") or n.endswith(".md")}, md(untracked))


def tokens(top: Path, ref: str, change: Change) -> set[str]:
    """Slugs (file names) and ids of the changed files, before and after."""
    out = {Path(p).stem for p in change.now | change.before}
    for path in change.now:
        file = top / path
        if file.is_file():
            out |= set(_ID.findall(file.read_text(encoding="utf-8", errors="replace")[:20000]))
    for path in change.before:
        text = git("show", f"{ref}:{path}", cwd=top, ok=(0, 128)).decode(errors="replace")
        out |= set(_ID.findall(text[:20000]))
    return {t for t in out if len(t) >= 3}


def mentioning(top: Path, words: set[str], specs: list[str], ref: str | None) -> set[str]:
    """Markdown files (at *ref*, or in the working tree) that contain any of *words*."""
    if not words:
        return set()
    patterns = [arg for w in sorted(words) for arg in ("-e", w)]
    where = [ref] if ref else ["--untracked"]
    out = git("grep", "-l", "-z", "-F", "-I", *patterns, *where, "--", *specs, cwd=top, ok=(0, 1)).split(b"\0")
    prefix = f"{ref}:" if ref else ""
    return {p.decode()[len(prefix):] for p in out if p and p.decode().endswith(".md")}


def extract(top: Path, ref: str, specs: list[str], dest: Path) -> None:
    """The library's files as they were at *ref*, under *dest* (same relative paths)."""
    present = [s for s in specs if git("ls-tree", "--name-only", ref, "--", s, cwd=top).strip()]
    if not present:
        return
    _archive(top, ref, present, dest)


def _archive(top: Path, ref: str, paths: Sequence[str], dest: Path) -> None:
    """*paths* as they are at *ref*, written under *dest*: ``git archive`` streamed into the
    extraction (a library of 100,000 files is a 2.6 GB archive, never held in memory)."""
    try:
        proc = subprocess.Popen(["git", "archive", "--format=tar", ref, "--", *paths], cwd=top,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise SinceError("git is not installed (needed by --since)") from exc
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
            else:  # pragma: no cover - Python 3.11 before the extraction filters
                tar.extractall(dest)  # noqa: S202 - our own repository's tree
    except tarfile.ReadError:
        pass  # no archive: git's message below says why
    finally:
        proc.stdout.close()
        message = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        code = proc.wait()
    if code != 0:
        raise SinceError(f"git archive --format=tar {ref}: {message or f'exit status {code}'}")


STUBS_OVER = 500
_FIELD = re.compile(rb"^(slug|id):(.*)$")


def library_files(top: Path, specs: list[str], ref: str | None) -> list[str]:
    """The Markdown files of the library at *ref*, or in the working tree (tracked and untracked)."""
    if ref is None:
        raw = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *specs, cwd=top)
        return sorted({p.decode() for p in raw.split(b"\0") if p.endswith(b".md") and (top / p.decode()).is_file()})
    raw = git("ls-tree", "-r", "-z", "--name-only", ref, "--", *specs, cwd=top)
    return sorted({p.decode() for p in raw.split(b"\0") if p.endswith(b".md")})


def _scratch() -> str | None:
    """Where stub libraries go: memory (/dev/shm) unless TMPDIR says otherwise; creating and
    removing tens of thousands of small files on a disk costs about a millisecond each."""
    if os.environ.get("TMPDIR") or not os.path.isdir("/dev/shm") or not os.access("/dev/shm", os.W_OK):
        return None
    return "/dev/shm"


_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def mentioned_words(top: Path, ref: str, change: Change) -> set[str]:
    """Every word of the changed files, before and after (slugs and ids they link to among them)."""
    out: set[str] = set()
    for path in change.now:
        if (top / path).is_file():
            out |= set(_WORD.findall((top / path).read_text(encoding="utf-8", errors="replace")))
    for path in change.before:
        out |= set(_WORD.findall(git("show", f"{ref}:{path}", cwd=top, ok=(0, 128)).decode(errors="replace")))
    return out


def stub_library(top: Path, ref: str | None, specs: list[str], checked: set[str], dest: Path,
                 mentioned: set[str] = frozenset()) -> tuple[list[Path], list[Path]]:
    """The library at *ref* (or in the working tree) under *dest*: the *checked* files as they
    are, every other file as a stub holding only its ``id`` and ``slug`` lines (read for the
    whole library with one ``git grep``). Returns (sources, the checked files under *dest*).

    A stub makes its pattern exist (targets resolve, ids collide) and states nothing else:
    a pattern that states anything about a changed file mentions its slug or id and is
    therefore checked, so the results of the changed files are those of the whole library.
    Files whose name, slug or id is among the words the changed files *mention* (the
    other end of their links) are kept whole too, but not checked: a target that does
    not convert (broken YAML) stays unresolved, as in the whole library.
    """
    files = library_files(top, specs, ref)
    where = [ref] if ref else ["--untracked"]
    raw = git("grep", "-z", "-I", "-E", "-e", "^(slug|id):", *where, "--", *specs, cwd=top, ok=(0, 1))
    prefix = f"{ref}:".encode() if ref else b""
    fields: dict[str, dict[bytes, bytes]] = {}
    for line in raw.split(b"\n"):
        path, _sep, content = line.partition(b"\0")
        match = _FIELD.match(content)
        if match:
            fields.setdefault(path[len(prefix):].decode(), {}).setdefault(match.group(1), content)
    real = sorted(p for p in checked if p in set(files))

    def named(path: str) -> bool:
        values = {v.split(b":", 1)[1].strip().strip(b"'\"").decode(errors="replace")
                  for v in fields.get(path, {}).values()}
        return Path(path).stem in mentioned or bool(values & mentioned)

    whole = real + sorted(p for p in files if p not in checked and mentioned and named(p))
    for path in files:
        if path in checked or path in whole:
            continue
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        known = fields.get(path, {})
        target.write_bytes(b"---\n" + b"".join(known[k] + b"\n" for k in (b"id", b"slug") if k in known) + b"---\n")
    if whole:
        if ref is None:
            for path in whole:
                (dest / path).parent.mkdir(parents=True, exist_ok=True)
                (dest / path).write_bytes((top / path).read_bytes())
        else:
            _archive(top, ref, whole, dest)
    sources = [dest / s for s in specs if (dest / s).exists()]
    return sources, [dest / p for p in real]


def mirror(top: Path, ref: str, specs: list[str], home: Path) -> Path:
    """A kept copy of the library at *ref* under ``home/tree``, returned; updated in place.

    ``home/commit`` records the commit the tree holds. When it is there, only the files
    ``git diff`` names between that commit and *ref* are rewritten or removed (so a kept
    validation index of the tree, ``home/index``, sees just those files change); else
    the tree is extracted anew. The record is removed before and written after an
    update, so an interrupted update is redone from scratch.
    """
    commit = git("rev-parse", f"{ref}^{{commit}}", cwd=top).decode().strip()
    tree, record = home / "tree", home / "commit"
    kept = record.read_text().strip() if record.is_file() and tree.is_dir() else ""
    if kept == commit:
        return tree
    home.mkdir(parents=True, exist_ok=True)
    record.unlink(missing_ok=True)
    if kept and git("cat-file", "-t", kept, cwd=top, ok=(0, 1, 128)).strip() == b"commit":
        raw = git("diff", "--name-status", "-z", "--no-renames", kept, commit, "--", *specs, cwd=top).split(b"\0")
        paths = [raw[i + 1].decode() for i in range(0, len(raw) - 1, 2)]
        for path in paths:
            (tree / path).unlink(missing_ok=True)
        present = [p.decode() for p in git("ls-tree", "-r", "-z", "--name-only", commit, "--", *paths,
                                           cwd=top).split(b"\0") if p] if paths else []
        if present:
            _archive(top, commit, present, tree)
    else:
        if tree.exists():
            import shutil

            shutil.rmtree(tree)
        tree.mkdir()
        extract(top, commit, specs, tree)
    record.write_text(commit + "\n")
    return tree


def seed_base(index: Path, base_index: Path, sources: Sequence[Path], base_sources: Sequence[Path]) -> bool:
    """The base tree's index started as a copy of the working tree's (:func:`~.index.seed`) when
    it has none: the first ``--since`` with a kept index then converts what differs between
    the two trees instead of validating the base tree in full."""
    from patternkg.converter.pipeline import discover
    from patternkg.shapes import index as ix

    kept = ix.read_meta(index)
    base_sources = [s for s in base_sources if s.exists()]
    if base_index.exists() or kept is None or kept.get("sources") != ix.source_key(sources) or not base_sources:
        return False
    base = {f.relpath: f.display for f in discover(list(base_sources))}
    displays = {f.display: (base[f.relpath], os.path.abspath(base[f.relpath])) for f in discover(list(sources))
                if f.relpath in base}
    return ix.seed(index, base_index, displays=displays, sources=ix.source_key(base_sources))


def validate_since(*, ref: str, sources: Sequence[os.PathLike | str], validate: Callable, root: Path | None = None,
                   stubs: bool | None = None, **options) -> Report:
    """Validate the change between *ref* and the working tree (see the module docstring).

    *validate* is the partial-validation entry point (``validate(sources=..., only=...,
    **options)``); *root* defaults to the checkout's top. *stubs* (default: for libraries
    of more than :data:`STUBS_OVER` files, without a kept index) validates each side as
    the checked files plus :func:`stub_library` stubs for the rest.
    """
    paths = [Path(s) for s in sources]
    if not paths:
        raise SinceError("--since needs the library's folder(s) as SOURCE")
    top = repo_root(Path(os.path.abspath(paths[0])).parent if paths[0].is_file() else Path(os.path.abspath(paths[0])))
    if top is None:
        raise SinceError(f"{paths[0]} is not inside a git checkout (--since compares with a git ref)")
    try:
        git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=top)
    except SinceError:
        raise SinceError(f"--since {ref}: no such commit in {top} (in CI, fetch it first: "
                         "actions/checkout with fetch-depth: 0)") from None
    root = Path(os.path.abspath(root or top))
    specs = _pathspecs(top, paths)
    change = changed(top, ref, specs)
    words = tokens(top, ref, change)
    shown_changed = {_shown(top / p, root) for p in change.now}
    index = options.get("index")
    indexed = _with_index(top=top, ref=ref, specs=specs, paths=paths, change=change, words=words, root=root,
                          validate=validate, options=options) if index is not None and not stubs else None
    if indexed is not None:
        current, before, checked = indexed
        return _compare(current, before, ref=ref, stubs=False, shown_changed=shown_changed,
                        changed_files=shown_changed | {_shown(top / p, root) for p in change.deleted},
                        checked=len(checked))
    checked_now = change.now | mentioning(top, words, specs, None)
    checked_before = change.before | mentioning(top, words, specs, ref)
    # a file checked on one side is checked on the other too (results appear or disappear there)
    renamed_back = {n: o for o, n in change.renamed.items()}
    checked_now |= {change.renamed.get(p, p) for p in checked_before if p not in change.deleted}
    checked_before |= {renamed_back.get(p, p) for p in checked_now if p not in change.untracked}
    now_files = [top / p for p in sorted(checked_now) if (top / p).is_file()]

    if stubs is None:
        stubs = index is None and len(library_files(top, specs, None)) > STUBS_OVER
    before: list[Entry] = []
    with ExitStack() as stack:
        if stubs:  # both sides as the checked files plus a stub for every other pattern
            now_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="patternkg-since-now-",
                                                                           dir=_scratch())))
            old_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="patternkg-since-base-",
                                                                            dir=_scratch())))
            mentioned = mentioned_words(top, ref, change)
            now_sources, now_only = stub_library(top, None, specs, checked_now, now_dir, mentioned)
            old_sources, before_files = stub_library(top, ref, specs, checked_before, old_root, mentioned)
            old_options = options
            if now_only:
                current = from_validation(validate(sources=now_sources, only=now_only, **options), root=now_dir)
                for e in current.entries:
                    e.result.file = str(top / e.file)
                    e.file = _shown(top / e.file, root)
                current.root = root
            else:
                current = Report([], 0, 0, root)
        else:
            current = from_validation(validate(sources=paths, only=now_files, **options), root=root) if now_files \
                else Report([], 0, 0, root)
            if index is not None:  # a kept tree of the base and its own index, updated by git diff
                home = Path(f"{os.path.abspath(index)}.since")
                old_root = mirror(top, ref, specs, home)
                old_options = {**options, "index": home / "index"}
                seed_base(Path(index), home / "index", paths, [old_root / s for s in specs])
            else:
                old_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="patternkg-since-")))
                extract(top, ref, specs, old_root)
                old_options = options
            before_files = [old_root / p for p in sorted(checked_before) if (old_root / p).is_file()]
            old_sources = [old_root / s for s in specs if (old_root / s).exists()]
        if before_files and old_sources:
            old = from_validation(validate(sources=old_sources, only=before_files, **old_options), root=old_root)
            for e in old.entries:  # as the file is called now
                rel = change.renamed.get(e.file, e.file)
                e.file = _shown(top / rel, root)
            before = old.entries
    return _compare(current, before, ref=ref, stubs=bool(stubs), shown_changed=shown_changed,
                    changed_files=shown_changed | {_shown(top / p, root) for p in change.deleted},
                    checked=len(checked_now | checked_before))


def _compare(current: Report, before: list[Entry], *, ref: str, stubs: bool, shown_changed: set[str],
             changed_files: set[str], checked: int) -> Report:
    """*current* with its entries marked new or unchanged against *before*, and the fixed ones."""
    mark(current.entries, Counter(fingerprint(e.result, e.file) for e in before), "unchanged")
    now_keys = Counter(fingerprint(e.result, e.file) for e in current.entries)
    fixed = []
    for e in before:
        key = fingerprint(e.result, e.file)
        if now_keys[key] > 0:
            now_keys[key] -= 1
        else:
            fixed.append(e)
    if stubs:  # a neighbour's results on stubs can be false; same on both sides, they are never new or fixed
        current.entries = [e for e in current.entries if e.status == "new" or e.file in shown_changed]
    current.fixed = fixed
    current.since = ref
    current.changed_files = changed_files
    current.checked_files = checked
    return current


def _with_index(*, top: Path, ref: str, specs: list[str], paths: list[Path], change: Change, words: set[str],
                root: Path, validate: Callable, options: dict) -> tuple[Report, list[Entry], set[str]] | None:
    """Both sides with kept indexes: (the working tree's report, the base's entries as the files are
    called now, the files checked), or None when a side could not use its index.

    The neighbours come from the indexes, not from a text search of the library: each side is
    checked with ``neighbours_of`` the changed files' slugs and ids (the files whose patterns
    link to them or share them, as the updated index says); a file checked on one side is
    checked on the other too. The base side uses a kept tree of the base (:func:`mirror`)
    and its own index beside *index* (``INDEX.since/``, seeded from *index* the first time).
    """
    index = Path(os.path.abspath(options["index"]))
    home = Path(f"{index}.since")
    around = sorted(words | {Path(p).stem for p in change.now | change.before})
    if not around:  # no Markdown file changed
        return Report([], 0, 0, root), [], set()
    now_only = [top / p for p in sorted(change.now) if (top / p).is_file()]
    now = validate(sources=paths, only=now_only, neighbours_of=around, **options)
    if now.checked is None:
        return None
    old_root = mirror(top, ref, specs, home)
    seed_base(index, home / "index", paths, [old_root / s for s in specs])
    old_sources = [old_root / s for s in specs if (old_root / s).exists()]
    checked_now = {_relative(d, top) for d in now.checked}
    renamed_back = {n: o for o, n in change.renamed.items()}
    before_paths = change.before | {renamed_back.get(p, p) for p in checked_now if p not in change.untracked}
    before_files = [old_root / p for p in sorted(before_paths) if (old_root / p).is_file()]
    checked_before: set[str] = set()
    before: list[Entry] = []
    if old_sources:
        old = validate(sources=old_sources, only=before_files, neighbours_of=around,
                       **{**options, "index": home / "index"})
        if old.checked is None:
            return None
        checked_before = {_relative(d, old_root) for d in old.checked}
        for e in from_validation(old, root=old_root).entries:  # as the file is called now
            e.file = _shown(top / change.renamed.get(e.file, e.file), root)
            before.append(e)
    current = from_validation(now, root=root)
    extra = {change.renamed.get(p, p) for p in checked_before if p not in change.deleted} - checked_now
    extra_files = [top / p for p in sorted(extra) if (top / p).is_file()]
    if extra_files:  # checked on the base side only so far
        more = validate(sources=paths, only=extra_files, **options)
        current.entries = sorted(current.entries + from_validation(more, root=root).entries,
                                 key=lambda e: (e.result.file, e.result.line, -RANK[e.result.severity],
                                                e.result.shape, e.result.field, e.result.value))
        current.rules = rules_of(current.entries)
    return current, before, checked_now | extra | {change.renamed.get(p, p) for p in checked_before}


def _relative(path: str, base: Path) -> str:
    """*path* relative to *base* (POSIX), both taken as real paths."""
    return Path(os.path.relpath(os.path.realpath(path), os.path.realpath(base))).as_posix()


def _shown(path: Path, root: Path) -> str:
    from patternkg.shapes.outcome import shown_path

    return shown_path(str(path), root)


__all__ = ["Change", "SinceError", "changed", "extract", "mentioning", "mirror", "repo_root", "seed_base",
           "validate_since"]
