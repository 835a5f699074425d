"""Reading pattern files safely: bytes -> front matter (YAML) + body, with line numbers.

Contract of :func:`read_document`: it returns a :class:`Document` or raises
:class:`ReadError` carrying a :class:`Diagnostic` that names the file and, when
known, the line and column. It never executes YAML tags and refuses, as errors:
files over the size limit, invalid UTF-8, missing or unclosed front matter,
YAML syntax errors (with the line and column, also for control characters YAML
does not allow), anchors and aliases (alias bombs), tags outside YAML's core
schema (``!!python/...``, local tags), duplicate keys, and front matter that is
not a mapping. Line ends are normalised first (CRLF and lone CR become LF), so no
value or body keeps a ``\r``. Control characters that no RDF serialisation can
carry (C0 except tab and line feed, U+FFFE, U+FFFF) are removed from the body and
from YAML strings (where escapes such as ``"\0"`` can produce them), each with a
``control-character`` warning naming the line (and the field). Values the core schema cannot build (a date 2026-13-45) are not
errors here: they come back as :class:`InvalidScalar` so the mapper can report
them by field path and keep the file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from frontmatter.default_handlers import YAMLHandler

from patternkg.converter.diagnostics import Diagnostic, field_path

DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024

# python-frontmatter's definition of a front-matter boundary line ("---").
_BOUNDARY = YAMLHandler.FM_BOUNDARY
# Cheap pre-filter: anchors (&a) and aliases (*a) can only start after whitespace
# or a flow indicator. Files that match are checked exactly with the event stream.
# Same answer as the regex (?:^|[\s\[{,])[&*][^\s,\[\]{}] (MULTILINE), in a quarter of the time.
_SIGIL = re.compile(r"[&*]")


def _maybe_anchor(front: str) -> bool:
    if "&" not in front and "*" not in front:
        return False
    last = len(front) - 1
    for match in _SIGIL.finditer(front):
        i = match.start()
        if i == last:
            return False
        after = front[i + 1]
        if after.isspace() or after in ",[]{}":
            continue
        if i == 0 or front[i - 1].isspace() or front[i - 1] in "[{,":
            return True
    return False

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}

Path_ = tuple[str | int, ...]


class InvalidScalar(str):
    """A scalar YAML resolved to a type but could not build (e.g. date 2026-13-45)."""

    expected: str

    def __new__(cls, text: str, expected: str) -> "InvalidScalar":
        obj = super().__new__(cls, text)
        obj.expected = expected
        return obj


@dataclass
class Document:
    """One pattern file, read. ``lines`` maps field paths to 1-based file lines."""

    path: str  # as diagnostics name it
    data: dict
    lines: dict[Path_, int]
    body: str
    body_line: int
    duplicates: list[Diagnostic] = field(default_factory=list)
    relpath: str = ""  # as the graph names it (pkg:sourceFile); defaults to path
    warnings: list[Diagnostic] = field(default_factory=list)  # e.g. control characters removed

    def line_of(self, path: Path_) -> int | None:
        """Line of *path*, or of its nearest ancestor that has one."""
        while path:
            line = self.lines.get(path)
            if line is not None:
                return line
            path = path[:-1]
        return self.lines.get(())


class ReadError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic


def _error(file: str, code: str, message: str, *, line=None, column=None, fld: str = "") -> ReadError:
    return ReadError(Diagnostic("error", code, file, message, fld, line, column))


def read_document(path: Path, *, display: str | None = None, relpath: str | None = None,
                  max_size: int = DEFAULT_MAX_FILE_SIZE, raw: bytes | None = None) -> Document:
    """Read and parse one pattern file (see the module docstring for the contract).

    *raw*: the file's bytes when the caller has read them already (at most *max_size*)."""
    name = display or str(path)
    if raw is None:
        try:
            size = path.stat().st_size
            if size > max_size:
                raise _error(name, "file-too-large", f"file is {size} bytes, over the limit of {max_size} bytes")
            raw = path.read_bytes()
        except OSError as exc:
            raise _error(name, "unreadable", f"cannot read file: {exc.strerror or exc}") from None
    doc = parse_document(raw, name, max_size=max_size)
    doc.relpath = relpath or path.name
    return doc


def parse_document(raw: bytes, name: str, *, max_size: int = DEFAULT_MAX_FILE_SIZE) -> Document:
    if len(raw) > max_size:
        raise _error(name, "file-too-large", f"file is {len(raw)} bytes, over the limit of {max_size} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _error(name, "invalid-utf8", f"not valid UTF-8 ({exc.reason} at byte {exc.start})",
                     line=line, column=column) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    start = _BOUNDARY.match(text)
    if start is None:
        raise _error(name, "no-front-matter", "file does not start with YAML front matter ('---')", line=1)
    end = _BOUNDARY.search(text, start.end())
    if end is None:
        raise _error(name, "unclosed-front-matter", "front matter is not closed by a '---' line", line=1)
    # The front matter text starts right after the opening '---' (on line 1), so a
    # YAML mark's 0-based line is the file's 1-based line.
    front = text[start.end():end.start()]
    # Most files hold no control character at all: then neither the body nor a YAML string can
    # (in YAML only an escape, which needs a backslash, makes one), and neither is searched.
    clean = _without_control(raw)
    data, lines, dups, warnings = _load_yaml(front, name, strings_clean=clean and "\\" not in front)
    body_line = text.count("\n", 0, end.end()) + 1
    body = text[end.end():]
    if body.startswith("\n"):
        body = body[1:]
        body_line += 1
    if not clean and _CONTROL.search(body):
        body = _strip_control(body, name, body_line, "body", warnings)
    return Document(name, data, lines, body, body_line, dups, name, warnings)


#: Characters no RDF serialisation carries: XML 1.0 forbids them, and CSV/TSV consumers choke on them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# The same characters in UTF-8: C0 bytes never occur inside a multi-byte sequence.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_MAX_CONTROL_WARNINGS = 10  # per file; the last one says how many more lines had some


def _without_control(raw: bytes) -> bool:
    """Whether UTF-8 *raw* holds no :data:`_CONTROL` character (several times faster than the
    regular expression on the decoded text)."""
    return (len(raw.translate(None, _CONTROL_BYTES)) == len(raw)
            and b"\xef\xbf\xbe" not in raw and b"\xef\xbf\xbf" not in raw)  # U+FFFE, U+FFFF


def _strip_control(text: str, name: str, first_line: int, fld: str, out: list[Diagnostic]) -> str:
    """*text* without :data:`_CONTROL` characters; one warning per line that had some."""
    lines: dict[int, set[str]] = {}
    for match in _CONTROL.finditer(text):
        line = first_line + text.count("\n", 0, match.start())
        lines.setdefault(line, set()).add(f"U+{ord(match.group()):04X}")
    shown = sorted(lines)[:_MAX_CONTROL_WARNINGS]
    for line in shown:
        more = len(lines) - len(shown) if line == shown[-1] and len(lines) > len(shown) else 0
        where = "the body" if fld == "body" else "a value"
        message = f"control character(s) {', '.join(sorted(lines[line]))} removed from {where}"
        if more:
            message += f" (and on {more} more line(s))"
        out.append(Diagnostic("warning", "control-character", name, message, fld, line))
    return _CONTROL.sub("", text)


def _load_yaml(front: str, name: str, *, strings_clean: bool
               ) -> tuple[dict, dict[Path_, int], list[Diagnostic], list[Diagnostic]]:
    """*strings_clean*: the caller knows no string of *front* can hold a :data:`_CONTROL` character."""
    if _maybe_anchor(front):
        _refuse_anchors(front, name)
    loader = yaml.CSafeLoader(front)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise _error(name, "yaml-syntax", f"invalid YAML: {msg}",
                     line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:
        # Control characters YAML refuses: the error has a position in the text, not a mark.
        position = min(max(exc.position, 0), len(front))
        line = front.count("\n", 0, position) + 1
        column = position - (front.rfind("\n", 0, position) + 1) + 1
        raise _error(name, "yaml-syntax", f"invalid YAML: character U+{exc.character:04X} is not allowed "
                     "(control characters are not allowed in YAML)" if isinstance(exc.character, int)
                     else f"invalid YAML: {exc.reason}", line=line, column=column) from None
    except yaml.YAMLError as exc:
        raise _error(name, "yaml-syntax", f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if node is None or not isinstance(node, yaml.MappingNode):
        line = node.start_mark.line + 1 if node is not None else 1
        raise _error(name, "front-matter-not-mapping", "front matter must be a YAML mapping of keys to values", line=line)
    builder = _Builder(loader, name, strings_clean)
    data = builder.build(node, ())
    return data, builder.lines, builder.duplicates, builder.warnings


def _refuse_anchors(front: str, name: str) -> None:
    try:
        for event in yaml.parse(front, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                kind = "alias" if isinstance(event, yaml.AliasEvent) else "anchor"
                raise _error(name, "yaml-anchor",
                             f"YAML {kind} '{event.anchor}' refused: anchors and aliases are not allowed in pattern files",
                             line=event.start_mark.line + 1, column=event.start_mark.column + 1)
    except yaml.MarkedYAMLError:
        return  # the real parse reports the syntax error with its position


class _Builder:
    """Builds Python values from a composed node tree, recording key lines."""

    def __init__(self, loader: yaml.CSafeLoader, name: str, strings_clean: bool):
        self.constructor = loader
        self.name = name
        self.strings_clean = strings_clean
        self.lines: dict[Path_, int] = {}
        self.duplicates: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []

    def build(self, node: yaml.Node, path: Path_):
        tag = node.tag
        if tag == _STR:
            if not self.strings_clean and _CONTROL.search(node.value):
                return _strip_control(node.value, self.name, node.start_mark.line + 1, field_path(path) or "(key)",
                                      self.warnings)
            return node.value
        if tag == _MAP:
            out: dict = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self._fail("complex-key", "mapping keys must be plain scalars", key_node, path)
                key = self.build(key_node, path)
                if not isinstance(key, str):
                    key = str(key)
                sub = path + (key,)
                line = key_node.start_mark.line + 1
                if key in out:
                    first = self.lines.get(sub)
                    raise self._fail("duplicate-key",
                                     f"duplicate key '{key}' (first on line {first}, again on line {line})",
                                     key_node, sub)
                self.lines[sub] = line
                out[key] = self.build(value_node, sub)
            return out
        if tag == _SEQ:
            items = []
            for i, item in enumerate(node.value):
                sub = path + (i,)
                self.lines[sub] = item.start_mark.line + 1
                items.append(self.build(item, sub))
            return items
        if tag in _SCALAR_TAGS:
            try:
                value = self.constructor.construct_object(node, deep=True)
            except (ValueError, OverflowError, yaml.constructor.ConstructorError):
                return InvalidScalar(node.value, tag.rsplit(":", 1)[-1])
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.astimezone(dt.timezone.utc)
            return value
        raise self._fail("yaml-tag", f"YAML tag '{tag}' refused: only plain YAML values are allowed", node, path)

    def _fail(self, code: str, message: str, node: yaml.Node, path: Path_) -> ReadError:
        return _error(self.name, code, message, line=node.start_mark.line + 1,
                      column=node.start_mark.column + 1, fld=field_path(path))
