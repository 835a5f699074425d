"""Splitting a pattern's Markdown body into preamble, rating callout and sections.

Contract of :func:`split_body`: headings inside fenced code blocks are ignored;
the section level is that of the first numbered heading ("### Section 1: ...",
"## 1. Overview"), or the shallowest heading level when none is numbered; a
heading at that level or shallower starts a section. Everything before the
first section is the preamble, from which the "[!NOTE] Confidence Rating"
callout is taken out as data. Horizontal rules that only separate sections are
dropped; all other text is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from patternkg.converter.namespaces import BODY_SECTIONS

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_NUMBERED = re.compile(r"^(?:section\s+)?\d+\s*[.:)]", re.IGNORECASE)
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_CALLOUT = re.compile(
    r"^>[ \t]*\[!NOTE\][ \t]*Confidence Rating:[ \t]*(?P<stars>[★☆]*)[ \t]*(?:\((?P<label>[^)]*)\))?[ \t]*$",
    re.MULTILINE,
)
_SECTION_PREFIX = re.compile(r"^(?:section\s+\d+\s*[:.)]?|\d+\s*[.:)])\s*", re.IGNORECASE)
_PARENS = re.compile(r"\s*\([^)]*\)\s*")


@dataclass
class Section:
    heading: str
    position: int
    markdown: str
    line: int  # 1-based line of the heading within the body
    canonical: str | None = None  # local name of the v7.1 section property, if any


@dataclass
class Body:
    preamble: str = ""
    rating_stars: int | None = None
    rating_label: str | None = None
    rating_note: str | None = None
    rating_line: int | None = None
    sections: list[Section] = field(default_factory=list)


def canonical_section(heading: str) -> str | None:
    """The v7.1 section property for a heading ("Section 7: Cognitive Era Considerations" -> cognitiveEraSection)."""
    name = _PARENS.sub(" ", _SECTION_PREFIX.sub("", heading.strip())).strip().lower()
    name = name.split(":", 1)[0].strip()
    if name in BODY_SECTIONS:
        return BODY_SECTIONS[name]
    for key, local in BODY_SECTIONS.items():
        if name.startswith(key + " "):
            return local
    return None


def _clean(lines: list[str]) -> str:
    while lines and (not lines[-1].strip() or _RULE.match(lines[-1])):
        lines.pop()
    while lines and (not lines[0].strip() or _RULE.match(lines[0])):
        lines.pop(0)
    return "\n".join(lines)


def split_body(body: str, *, canonical: bool = True) -> Body:
    """Split *body*; with *canonical*, name the eight v7.1 sections (each name once)."""
    lines = body.split("\n")
    headings: list[tuple[int, int, str]] = []  # (line index, level, text)
    fence: str | None = None
    for i, line in enumerate(lines):
        f = _FENCE.match(line)
        if f:
            if fence is None:
                fence = f.group(1)
            elif f.group(1) == fence:
                fence = None
            continue
        if fence is None and line.startswith("#"):
            m = _HEADING.match(line)
            if m:
                headings.append((i, len(m.group(1)), m.group(2)))
    result = Body()
    level = None
    for _, lvl, text in headings:
        if _NUMBERED.match(text):
            level = lvl
            break
    if level is None and headings:
        level = min(lvl for _, lvl, _ in headings)
    starts = [(i, text) for i, lvl, text in headings if level is not None and lvl <= level]
    first = starts[0][0] if starts else len(lines)
    _take_preamble(result, lines[:first])
    seen: set[str] = set()
    for n, (i, text) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        section = Section(text, n + 1, _clean(lines[i + 1:end]), i + 1)
        if canonical:
            name = canonical_section(text)
            if name and name not in seen:
                seen.add(name)
                section.canonical = name
        result.sections.append(section)
    return result


def _take_preamble(result: Body, lines: list[str]) -> None:
    text = "\n".join(lines)
    m = _CALLOUT.search(text)
    if m:
        result.rating_stars = m.group("stars").count("★")
        result.rating_label = (m.group("label") or "").strip() or None
        result.rating_line = text.count("\n", 0, m.start()) + 1
        # The callout continues on following "> " lines.
        rest = text[m.end():].split("\n")
        note: list[str] = []
        consumed = 0
        for line in rest[1:]:
            if line.startswith(">"):
                note.append(line[1:].lstrip(" "))
                consumed += 1
            else:
                break
        result.rating_note = "\n".join(note).strip() or None
        after = "\n".join(rest[1 + consumed:])
        text = text[:m.start()] + after
    result.preamble = _clean(text.split("\n"))
