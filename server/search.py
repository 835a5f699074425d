"""Full-text search over the library's patterns (the query side of the FTS5 index).

The index is the ``search.sqlite`` sidecar of the generation being served
(:mod:`patternkg.converter.search_index`). A store without one (an older
build, a store written by other tools) gets one built on first use through the
worker pool, into the server's scratch folder, once per generation.

Text is split into words; each word matches as a prefix (``organ`` finds
"organizing"), all words must match, in any of title, aliases, summary,
keywords or audience labels. Patterns whose title, alias or audience label
matches come first, then the rest; within each tier results are ranked by bm25
with weights :data:`WEIGHTS` (title first), among the tier's first
:data:`CANDIDATES` matches (bm25 costs per match; the total is always exact). :func:`find` is the Python API;
``GET /search?q=`` renders a page and ``GET /api/search?q=&limit=&offset=``
answers JSON ``{"query", "total", "limit", "offset", "results": [{"iri",
"slug", "title", "snippet", "href"}]}``.
"""

from __future__ import annotations

import html
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Response, current_app, jsonify, request

from patternkg.converter.search_index import FILENAME, build_index, index_rows

from . import pages

#: bm25 weights per column: iri, slug (not indexed), title, aliases, summary, keywords, labels
WEIGHTS = (0.0, 0.0, 10.0, 6.0, 1.0, 2.0, 4.0)
MAX_WORDS = 12
MAX_LIMIT = 100
#: Columns whose matches come first (a pattern's names, in any audience's words).
NAME_COLUMNS = "{title aliases labels}"
#: Each tier is ranked among its first CANDIDATES matches (in index order): bm25 costs per match,
#: and a very common prefix ("organ" at 100,000 patterns) matches tens of thousands.
CANDIDATES = 2000
_WORD = re.compile(r"\w+", re.UNICODE)
_lock = threading.Lock()
_EXTENSION = "patternkg.search"


@dataclass
class Hit:
    iri: str
    slug: str
    title: str
    snippet: str  # HTML: escaped text with <mark> around matches
    field: str


def match_expression(text: str) -> str | None:
    """The FTS5 query of free *text*: every word as a quoted prefix term (None when no word)."""
    words = _WORD.findall(text.lower())[:MAX_WORDS]
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words)


class SearchIndex:
    """One open index file (read-only; one connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def find(self, text: str, limit: int = 20, offset: int = 0) -> tuple[list[Hit], int]:
        """Hits for *text*: first those matching in a title, alias or audience label, then those
        matching only elsewhere (summary, keywords); each tier ranked by bm25 (see :data:`CANDIDATES`)."""
        expression = match_expression(text)
        if expression is None:
            return [], 0
        named = f"{NAME_COLUMNS} : ({expression})"
        tiers = (named, f"({expression}) NOT ({named})")
        db = self._db()
        try:
            total = self._count(db, expression)
            first = self._count(db, named)
            ids = []
            if offset < first:
                ids += self._ranked(db, tiers[0], limit, offset)
            if len(ids) < limit:
                ids += self._ranked(db, tiers[1], limit - len(ids), max(0, offset - first))
        except sqlite3.OperationalError:
            return [], 0
        return self._hits(db, ids, text), total

    @staticmethod
    def _count(db: sqlite3.Connection, expression: str) -> int:
        return db.execute("SELECT count(*) FROM patterns WHERE patterns MATCH ?", (expression,)).fetchone()[0]

    @staticmethod
    def _ranked(db: sqlite3.Connection, expression: str, limit: int, offset: int) -> list[int]:
        weights = ", ".join(str(w) for w in WEIGHTS)
        rows = db.execute(
            f"""SELECT id FROM (SELECT rowid AS id, bm25(patterns, {weights}) AS score FROM patterns
                                WHERE patterns MATCH ? LIMIT {CANDIDATES + offset})
                ORDER BY score, id LIMIT ? OFFSET ?""", (expression, limit, offset)).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _hits(db: sqlite3.Connection, ids: list[int], text: str) -> list[Hit]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = {r[0]: r[1:] for r in db.execute(
            f"SELECT rowid, iri, slug, title, aliases, summary, keywords, labels FROM patterns WHERE rowid IN ({marks})",
            ids)}
        words = [w.lower() for w in _WORD.findall(text)][:MAX_WORDS]
        hits = []
        for rowid in ids:
            iri, slug, title, aliases, summary, keywords, labels = rows[rowid]
            field = next((name for name, value in (("title", title), ("alias", aliases), ("audience label", labels),
                                                   ("summary", summary)) if _matches(value, words)), "keyword")
            source = summary
            if field in ("alias", "audience label") and not _matches(summary, words):
                source = (aliases if field == "alias" else labels) + (" — " + summary if summary else "")
            hits.append(Hit(iri, slug, title, highlight(source, words), field))
        return hits


def _matches(value: str, words: list[str]) -> bool:
    tokens = [t.lower() for t in _WORD.findall(value)]
    return bool(words) and all(any(t.startswith(w) for t in tokens) for w in words)


def highlight(text: str, words: list[str], width: int = 220) -> str:
    """HTML: *text* escaped, cut to about *width* characters around the first match, with every
    word that starts with one of *words* in ``<mark>``."""
    found = [m for m in _WORD.finditer(text) if any(m.group().lower().startswith(w) for w in words)]
    start = 0
    if found and found[0].start() > width // 3:
        start = text.rfind(" ", 0, found[0].start() - width // 4) + 1
    end = min(len(text), start + width)
    if end < len(text):
        end = max(text.rfind(" ", start, end), start + width // 2)
    out, at = [], start
    for m in found:
        if m.start() < start or m.end() > end:
            continue
        out.append(html.escape(text[at:m.start()]) + "<mark>" + html.escape(m.group()) + "</mark>")
        at = m.end()
    out.append(html.escape(text[at:end]))
    return ("…" if start else "") + "".join(out) + ("…" if end < len(text) else "")


def _select_through_pool(query: str) -> list[dict[str, str | None]]:
    """All solutions of *query*, fetched in pages under the endpoint's row cap (``--max-rows``).

    Pages are cut with LIMIT/OFFSET and no ORDER BY: the store is read-only, so the
    engine evaluates the same query in the same order each time (sorting every page
    would cost far more)."""
    size = max(1, min(50_000, int(current_app.extensions["patternkg"].config.max_rows)))
    out: list[dict[str, str | None]] = []
    offset = 0
    while True:
        page = pages.select(f"SELECT * WHERE {{ {{ {query} }} }} LIMIT {size} OFFSET {offset}")
        out += [{k: v["value"] for k, v in b.items()} for b in page]
        if len(page) < size:
            return out
        offset += size


def index() -> SearchIndex:
    """The index of the generation being served (built once through the pool when it has none)."""
    state = current_app.extensions["patternkg"]
    generation = getattr(state, "generation", None)
    ident = getattr(generation, "id", None)
    cached = current_app.extensions.get(_EXTENSION)
    if cached is not None and cached[0] == ident:
        return cached[1]
    with _lock:
        cached = current_app.extensions.get(_EXTENSION)
        if cached is not None and cached[0] == ident:
            return cached[1]
        path = _sidecar(generation)
        if path is None:
            path = Path(state.dumps_dir) / f"search-{ident or 'store'}.sqlite"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                build_index(index_rows(_select_through_pool), path)
        found = SearchIndex(path)
        current_app.extensions[_EXTENSION] = (ident, found)
        return found


def _sidecar(generation: Any) -> Path | None:
    if generation is None or getattr(generation, "external", True):
        return None
    path = Path(generation.directory) / FILENAME
    return path if path.is_file() else None


def find(text: str, limit: int = 20, offset: int = 0) -> tuple[list[Hit], int]:
    """Ranked hits for *text* and the total number of matching patterns."""
    return index().find(text, limit=limit, offset=offset)


#: field names of :class:`Hit` -> the ``match`` column of the prepared query ``search``
_MATCH = {"title": "title", "alias": "alias", "audience label": "label", "summary": "summary", "keyword": "keyword"}


def prepared_answer(query: Any, raw: dict[str, str], limit: int, offset: int, library: Any) -> Any:
    """The prepared query ``search`` answered from the index (over HTTP): same parameter, same
    columns, every format and paging of the prepared-query API; word prefixes, ranked (the
    ``.rq`` file's SPARQL, a substring match, stays for other stores and the command line)."""
    from .prepared import Answer

    terms = query.parse_values(raw, library)  # validates 'text' (ParameterError names it)
    text = str(terms["text"].value)
    hits, total = find(text, limit=limit, offset=offset) if limit else ([], find(text, 1, 0)[1])
    bindings = [{"pattern": {"type": "uri", "value": h.iri},
                 "slug": {"type": "literal", "value": h.slug},
                 "title": {"type": "literal", "value": h.title},
                 "match": {"type": "literal", "value": _MATCH.get(h.field, h.field)}} for h in hits]
    note = f"# answered from the full-text index (search.sqlite) for {text!r}\n"
    return Answer(query, {k: str(v) for k, v in terms.items()}, note, bindings, total, offset)


def _paging() -> tuple[int, int]:
    def number(name: str, default: int, high: int) -> int:
        raw = request.args.get(name, "")
        return min(int(raw), high) if raw.isdigit() else default

    return number("limit", 20, MAX_LIMIT), number("offset", 0, 10**6)


def search_json() -> Response:
    text = request.args.get("q", "")
    limit, offset = _paging()
    hits, total = find(text, limit, offset)
    return jsonify({"query": text, "total": total, "limit": limit, "offset": offset,
                    "results": [{"iri": h.iri, "slug": h.slug, "title": h.title,
                                 "snippet": html.unescape(h.snippet.replace("<mark>", "").replace("</mark>", "")),
                                 "matched": h.field, "href": pages.local_path(h.iri)} for h in hits]})


def search_page() -> Response:
    text = request.args.get("q", "").strip()
    limit, offset = _paging()
    hits, total = find(text, limit, offset) if text else ([], 0)
    info = pages.details({h.iri for h in hits})
    results = [(h, info.ref(h.iri)) for h in hits]
    body = pages.render("search.html", title=f"Search: {text}" if text else "Search", search_text=text,
                        results=results, total=total, limit=limit, offset=offset)
    return pages.html_response(body)


__all__ = ["find", "index", "match_expression", "prepared_answer", "search_json", "search_page", "SearchIndex", "Hit", "WEIGHTS"]
