"""``patternkg diff OLD NEW``: what a change did to the knowledge graph, for a reviewer.

Contract of :func:`diff_libraries`: OLD and NEW are each a folder of pattern files or a
git ref of the checkout holding the working directory (read with ``git archive`` of
*paths*, never checked out). Both are converted and compared:

- patterns added, removed, and renamed (the same ``id``, a new slug), and changed
  (any triple of the pattern or its statement nodes differs);
- curated relationships (source, kind, target) added and removed, and their weights
  changed; inferred links (source, type, target) added and removed, and their
  confidences changed, apart from the curated ones;
- entities and communities that appear or disappear in the library, and the
  mentions and memberships added and removed;
- the validation delta: results new and fixed per rule (fingerprints of
  :mod:`patternkg.shapes.baseline`), unless *validation* is False.

Renamed patterns are compared under their new slug, so a rename alone adds and
removes no relationship. :func:`render_diff` renders the :class:`GraphDiff` as
``text``, ``json`` or ``markdown``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

from patternkg.converter.namespaces import DCTERMS, DEFAULT_BASE_IRI, PKG, Library

FORMATS = ("text", "json", "markdown")


class DiffError(ValueError):
    """A side that is neither a folder nor a git ref (names it)."""


@dataclass
class Side:
    label: str
    sources: list[Path]
    root: Path


@dataclass
class GraphDiff:
    old: str
    new: str
    patterns: dict[str, list] = field(default_factory=dict)  # added, removed, renamed, changed
    relationships: dict[str, list] = field(default_factory=dict)  # added, removed, weight_changed
    inferred: dict[str, list] = field(default_factory=dict)
    entities: dict[str, list] = field(default_factory=dict)  # added, removed, mentions_added, mentions_removed
    communities: dict[str, list] = field(default_factory=dict)
    validation: dict | None = None  # {"new": {rule: n}, "fixed": {rule: n}, "old": counts, "new_counts": counts}

    def to_dict(self) -> dict:
        return asdict(self)


# -- the two sides ----------------------------------------------------------------------------------

def resolve_side(spec: str, paths: Sequence[str], stack: ExitStack) -> Side:
    """A folder as it is, or a git ref extracted to a temporary directory.

    *paths* name the library inside each side: relative to the folder, or for a ref
    relative to the working directory's place in the checkout. Files are shown
    relative to the folder (or that place), so both sides name a file alike.
    """
    paths = list(paths) or ["."]
    folder = Path(spec)
    if folder.is_dir():
        sources = [folder / p for p in paths]
        missing = [str(s) for s in sources if not s.exists()]
        if missing:
            raise DiffError(f"{spec}: {', '.join(missing)} does not exist")
        return Side(spec, sources, Path(os.path.abspath(folder)))
    from patternkg.shapes.since import SinceError, extract, git, repo_root

    top = repo_root(Path.cwd())
    if top is None:
        raise DiffError(f"{spec}: not a folder, and {Path.cwd()} is not inside a git checkout to read a ref from")
    try:
        git("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}", cwd=top)
    except SinceError:
        raise DiffError(f"{spec}: neither a folder nor a commit of {top}") from None
    prefix = Path.cwd().resolve().relative_to(top.resolve())
    specs = [(prefix / p).as_posix() for p in paths]
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="patternkg-diff-")))
    extract(top, spec, specs, tmp)
    sources = [tmp / s for s in specs if (tmp / s).exists()]
    if not sources:
        raise DiffError(f"{spec}: none of {', '.join(specs)} exists at that commit")
    return Side(spec, sources, tmp / prefix)


# -- reading a converted store --------------------------------------------------------------------

_PREFIXES = f"PREFIX pkg: <{PKG}>\nPREFIX dcterms: <{DCTERMS}>\n"


def _rows(store, query: str) -> list[tuple[str | None, ...]]:
    solutions = store.query(_PREFIXES + query)
    names = [v.value for v in solutions.variables]
    return [tuple(row[n].value if row[n] is not None else None for n in names) for row in solutions]


def _slug(iri: str, space: str) -> str:
    return iri[len(space):] if iri.startswith(space) else iri.rsplit("/", 1)[-1]


def _local(iri: str | None) -> str:
    return "" if iri is None else iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def snapshot(store, base_iri: str) -> dict:
    space = Library(base_iri).pattern_space
    patterns = {_slug(p, space): (ident or "", title or "") for p, ident, title in _rows(
        store, "SELECT ?p ?id ?title WHERE { ?p a pkg:Pattern . OPTIONAL { ?p dcterms:identifier ?id } "
               "OPTIONAL { ?p dcterms:title ?title } }")}
    owned: dict[str, list[str]] = {}
    for quad in store.quads_for_pattern(None, None, None, None):
        subject = quad.subject.value
        if subject.startswith(space):
            owned.setdefault(_slug(subject.split("#", 1)[0], space), []).append(str(quad.triple))
    digests = {slug: hashlib.sha1("\n".join(sorted(owned.get(slug, []))).encode()).hexdigest() for slug in patterns}
    curated = {(_slug(p, space), _local(k), _slug(t, space)): w for p, k, t, w in _rows(
        store, "SELECT ?p ?k ?t ?w WHERE { ?p pkg:qualifiedRelationship ?n . ?n pkg:target ?t ; "
               "pkg:relationshipKind ?k . OPTIONAL { ?n pkg:weight ?w } }")}
    inferred = {(_slug(p, space), k or _local(kind), _slug(t, space)): c for p, k, kind, t, c in _rows(
        store, "SELECT ?p ?k ?kind ?t ?c WHERE { ?p pkg:qualifiedInferredLink ?n . ?n pkg:target ?t . "
               "OPTIONAL { ?n pkg:kindName ?k } OPTIONAL { ?n pkg:relationshipKind ?kind } "
               "OPTIONAL { ?n pkg:confidence ?c } }")}
    mentions = {(_slug(p, space), _local(e)) for p, e in _rows(store, "SELECT ?p ?e WHERE { ?p pkg:mentions ?e }")}
    members = {(_slug(p, space), _local(c)) for p, c in _rows(store, "SELECT ?p ?c WHERE { ?p pkg:memberOf ?c }")}
    return {"patterns": patterns, "digests": digests, "curated": curated, "inferred": inferred,
            "mentions": mentions, "members": members}


# -- comparing ------------------------------------------------------------------------------------

def _weighted(old: dict, new: dict, rename: dict[str, str], what: str) -> dict[str, list]:
    moved = {(rename.get(s, s), k, rename.get(t, t)): w for (s, k, t), w in old.items()}
    key = lambda x: {"source": x[0], "kind": x[1], "target": x[2]}  # noqa: E731
    return {
        "added": [{**key(k), what: new[k]} for k in sorted(set(new) - set(moved))],
        "removed": [{**key(k), what: moved[k]} for k in sorted(set(moved) - set(new))],
        f"{what}_changed": [{**key(k), "old": moved[k], "new": new[k]} for k in sorted(set(new) & set(moved))
                            if moved[k] != new[k] and _number(moved[k]) != _number(new[k])],
    }


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _membership(old: set, new: set, rename: dict[str, str], noun: str) -> dict[str, list]:
    moved = {(rename.get(p, p), x) for p, x in old}
    before, after = {x for _p, x in moved}, {x for _p, x in new}
    return {"added": sorted(after - before), "removed": sorted(before - after),
            f"{noun}_added": [{"pattern": p, noun[:-1] if noun.endswith("s") else noun: x}
                              for p, x in sorted(new - moved)],
            f"{noun}_removed": [{"pattern": p, noun[:-1] if noun.endswith("s") else noun: x}
                                for p, x in sorted(moved - new)]}


def compare(old: dict, new: dict, old_label: str, new_label: str) -> GraphDiff:
    old_p, new_p = old["patterns"], new["patterns"]
    by_id_new = {ident: slug for slug, (ident, _t) in new_p.items() if ident}
    rename = {slug: by_id_new[ident] for slug, (ident, _t) in old_p.items()
              if ident and by_id_new.get(ident) not in (None, slug) and slug not in new_p}
    added = sorted(set(new_p) - set(old_p) - set(rename.values()))
    removed = sorted(set(old_p) - set(new_p) - set(rename))
    changed = sorted(s for s in set(new_p) & set(old_p) if old["digests"][s] != new["digests"][s])
    diff = GraphDiff(old_label, new_label)
    diff.patterns = {
        "added": [{"slug": s, "id": new_p[s][0], "title": new_p[s][1]} for s in added],
        "removed": [{"slug": s, "id": old_p[s][0], "title": old_p[s][1]} for s in removed],
        "renamed": [{"id": old_p[o][0], "old": o, "new": n} for o, n in sorted(rename.items())],
        "changed": changed,
    }
    diff.relationships = _weighted(old["curated"], new["curated"], rename, "weight")
    diff.inferred = _weighted(old["inferred"], new["inferred"], rename, "confidence")
    diff.entities = _membership(old["mentions"], new["mentions"], rename, "mentions")
    diff.communities = _membership(old["members"], new["members"], rename, "memberships")
    return diff


def _validation_delta(old_side: Side, new_side: Side, base_iri: str) -> dict:
    from patternkg.shapes.baseline import fingerprint
    from patternkg.shapes.outcome import from_validation
    from patternkg.shapes.validation import validate

    old = from_validation(validate(sources=old_side.sources, base_iri=base_iri), root=old_side.root)
    new = from_validation(validate(sources=new_side.sources, base_iri=base_iri), root=new_side.root)
    before = Counter(fingerprint(e.result, e.file) for e in old.entries)
    after = Counter(fingerprint(e.result, e.file) for e in new.entries)
    appeared, gone = after - before, before - after
    severity = {e.result.shape: e.result.severity for e in old.entries + new.entries}
    return {"old": old.counts(), "new": new.counts(),
            "new_results": dict(sorted(Counter(k[0] for k in appeared.elements()).items())),
            "fixed_results": dict(sorted(Counter(k[0] for k in gone.elements()).items())),
            "new_examples": [{"rule": k[0], "file": k[1], "field": k[2], "value": k[3], "severity": severity[k[0]]}
                             for k in sorted(appeared)[:50]],
            "severity": severity}


def diff_libraries(*, old: str, new: str, paths: Sequence[str] = (), base_iri: str = DEFAULT_BASE_IRI,
                   validation: bool = True, jobs: int | None = None) -> GraphDiff:
    """Compare two libraries (see the module docstring)."""
    from patternkg.converter.api import convert

    with ExitStack() as stack:
        sides = [resolve_side(spec, paths, stack) for spec in (old, new)]
        stores = [convert(sources=side.sources, base_iri=base_iri, jobs=jobs).store for side in sides]
        result = compare(snapshot(stores[0], base_iri), snapshot(stores[1], base_iri), old, new)
        if validation:
            result.validation = _validation_delta(sides[0], sides[1], base_iri)
            result.validation.pop("severity")
    return result


# -- rendering ---------------------------------------------------------------------------------------

def _sections(d: GraphDiff) -> list[tuple[str, list[str]]]:
    p = d.patterns
    out = [
        ("Patterns", [f"+ {x['slug']} ({x['id']})" for x in p["added"]]
         + [f"- {x['slug']} ({x['id']})" for x in p["removed"]]
         + [f"~ renamed {x['old']} -> {x['new']} ({x['id']})" for x in p["renamed"]]
         + ([f"~ changed: {', '.join(p['changed'])}"] if p["changed"] else [])),
    ]
    for title, part, what in (("Curated relationships", d.relationships, "weight"),
                              ("Inferred links", d.inferred, "confidence")):
        out.append((title, [f"+ {x['source']} {x['kind']} {x['target']} ({what} {x[what]})" for x in part["added"]]
                    + [f"- {x['source']} {x['kind']} {x['target']} ({what} {x[what]})" for x in part["removed"]]
                    + [f"~ {x['source']} {x['kind']} {x['target']}: {what} {x['old']} -> {x['new']}"
                       for x in part[f"{what}_changed"]]))
    for title, part, noun, one in (("Entities", d.entities, "mentions", "mention"),
                                   ("Communities", d.communities, "memberships", "membership")):
        out.append((title, [f"+ {x}" for x in part["added"]] + [f"- {x}" for x in part["removed"]]
                    + [f"+ {x['pattern']} {one} {x[one]}" for x in part[f"{noun}_added"]]
                    + [f"- {x['pattern']} {one} {x[one]}" for x in part[f"{noun}_removed"]]))
    if d.validation is not None:
        v = d.validation
        lines = [f"results: {_counts(v['old'])} -> {_counts(v['new'])}"]
        lines += [f"+ {n} new {rule}" for rule, n in v["new_results"].items()]
        lines += [f"- {n} fixed {rule}" for rule, n in v["fixed_results"].items()]
        lines += [f"  new: {x['file']} [{x['field']}] {x['rule']} {x['value']}".rstrip() for x in v["new_examples"]]
        out.append(("Validation", lines))
    return out


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in c.items())


def counts(d: GraphDiff) -> str:
    p = d.patterns
    return (f"patterns +{len(p['added'])} -{len(p['removed'])} renamed {len(p['renamed'])} changed "
            f"{len(p['changed'])}; relationships +{len(d.relationships['added'])} -{len(d.relationships['removed'])} "
            f"~{len(d.relationships['weight_changed'])}; inferred +{len(d.inferred['added'])} "
            f"-{len(d.inferred['removed'])} ~{len(d.inferred['confidence_changed'])}; entities "
            f"+{len(d.entities['added'])} -{len(d.entities['removed'])}; communities +{len(d.communities['added'])} "
            f"-{len(d.communities['removed'])}")


def render_diff(d: GraphDiff, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(d.to_dict(), indent=2, ensure_ascii=False)
    if fmt == "text":
        lines = [f"patternkg diff {d.old} {d.new}: {counts(d)}"]
        for title, items in _sections(d):
            if items:
                lines += ["", f"{title}:"] + [f"  {item}" for item in items]
        return "\n".join(lines)
    if fmt == "markdown":
        from patternkg.shapes.markdown import escape

        lines = [f"## patternkg diff `{d.old}` → `{d.new}`", "", escape(counts(d))]
        for title, items in _sections(d):
            if items:
                lines += ["", f"### {title}", ""] + [f"- {escape(item)}" for item in items[:500]]
                if len(items) > 500:
                    lines.append(f"- … and {len(items) - 500} more (see `--format json`)")
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


__all__ = ["DiffError", "FORMATS", "GraphDiff", "compare", "diff_libraries", "render_diff", "snapshot"]
