"""Mapping SHACL findings back to the file, field and line they are about.

Contract of :func:`where`: given one file's location table (:class:`FileLocs`) and a
finding on a node that file writes, returns the YAML field path and the 1-based line
(``None`` when nothing closer is known): the line of the (focus, path) statement when
the file wrote it; for a statement node (``...#fragment``), the line of its list item;
for a body shape, the first line of the body; otherwise the line of the nearest
existing ancestor of the field the shape declares.

A :class:`FileLocs` is either *full* (every (subject, predicate) the file wrote) or
*reduced* (:meth:`FileLocs.reduce`): only the statements of some predicates plus the
answers :func:`where` needs for a known set of declared fields, precomputed. The
streaming engine keeps reduced tables, compressed, for the library-wide checks that
run after every file was converted (see :mod:`~patternkg.shapes.streaming`); both
kinds answer identically for those checks.
"""

from __future__ import annotations

import marshal
import re
import zlib
from collections.abc import Iterable

from patternkg.shapes.shapes_graph import Finding, ShapeInfo

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
BODY = "<body>"
_SEP = re.compile(r"[.\[]")
_ROOT = re.compile(r"[^.\[]*")


class FileLocs:
    """One file's location table: {(subject, predicate): (field path, line)}."""

    def __init__(self, entries: dict, *, body: dict | None = None, fields: dict | None = None):
        self.entries = entries
        self._body = body  # subject -> first line of its body sections (None: compute)
        self._fields = fields  # declared field -> line of its nearest ancestor (None: compute)

    def body_line(self, subject: str) -> int | None:
        if self._body is not None:
            return self._body.get(subject)
        return min((loc[1] for (s, _p), loc in self.entries.items()
                    if s == subject and loc[0].startswith(BODY) and loc[1]), default=None)

    def field_line(self, declared: str) -> int | None:
        """Line of the nearest existing ancestor of *declared* (its first line), or None."""
        if self._fields is not None:
            return self._fields.get(declared)
        parts = declared.split(".")
        for n in range(len(parts), 0, -1):
            prefix = ".".join(parts[:n])
            lines = [loc[1] for loc in self.entries.values() if loc[1] and (
                loc[0] == prefix or loc[0].startswith(prefix + ".") or loc[0].startswith(prefix + "["))]
            if lines:
                return min(lines)
        return None

    def reduce(self, *, predicates: set[str], declared: Iterable[str], space: str) -> bytes:
        """A compressed reduced table: the statements of *predicates* (and ``rdf:type``) about
        pattern-space subjects, body lines of those subjects and the lines of *declared* fields."""
        keep = predicates | {RDF_TYPE}
        entries = {k: v for k, v in self.entries.items() if k[1] in keep and k[0].startswith(space)}
        subjects = {s for s, _p in entries}
        declared = list(declared)
        prefixes = {".".join(parts[:n]) for parts in (d.split(".") for d in declared) for n in range(1, len(parts) + 1)}
        roots = {_ROOT.match(prefix).group() for prefix in prefixes}
        first: dict[str, int] = {}  # declared prefix -> first line of a field at or under it
        body: dict[str, int] = {}
        for (s, _p), (fld, line) in self.entries.items():
            if not line:
                continue
            if s in subjects and fld.startswith(BODY) and line < body.get(s, line + 1):
                body[s] = line
            if _ROOT.match(fld).group() not in roots:
                continue
            # the field and its ancestors: every prefix ending before a "." or "["
            for prefix in (fld, *(fld[:m.start()] for m in _SEP.finditer(fld))):
                if prefix in prefixes and line < first.get(prefix, line + 1):
                    first[prefix] = line
        fields = {}
        for d in declared:
            parts = d.split(".")
            for n in range(len(parts), 0, -1):
                line = first.get(".".join(parts[:n]))
                if line is not None:
                    fields[d] = line
                    break
        return zlib.compress(marshal.dumps((entries, body, fields)), 1)

    @classmethod
    def from_reduced(cls, blob: bytes) -> FileLocs:
        entries, body, fields = marshal.loads(zlib.decompress(blob))
        return cls(entries, body=body, fields=fields)


def where(locs: FileLocs, f: Finding, info: ShapeInfo | None, field_by_path: dict[str, str]) -> tuple[str, int | None]:
    """Field path and line of finding *f* in one file's location table (see the module docstring)."""
    entries = locs.entries
    if f.path and (f.focus, f.path) in entries:
        fld, line = entries[(f.focus, f.path)]
        if fld and fld != BODY or line:
            return fld, line
    node = entries.get((f.focus, RDF_TYPE))
    declared = (info.field if info and info.field else "") if "#" in f.focus or not f.path else \
        field_by_path.get(f.path) or (info.field if info and info.field else "")
    if "#" in f.focus and node:  # a statement node: its list item
        fld = node[0] + (f".{declared}" if declared and declared not in node[0] else "")
        return fld, node[1]
    if declared == BODY:
        return BODY, locs.body_line(f.focus)
    if declared:
        return declared, locs.field_line(declared)
    return f.path.rsplit("#", 1)[-1] if f.path else "", None


__all__ = ["FileLocs", "RDF_TYPE", "where"]
