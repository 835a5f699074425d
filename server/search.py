"""Full-text search over the library's patterns (the query side of the FTS5 index).

The index is the ``search.sqlite`` sidecar of the generation being served
(:mod:`patternkg.converter.search_index`). A store without one (an older
build, a store written by other tools) gets one built on first use through the
worker pool, into the server's scratch folder, once per generation.

Text is split into words; each word matches as a prefix (``organ`` finds
"organizing"), all words must match, in any of title, aliases, summary,
keywords or audience labels. Results are ranked by bm25 with weights
:data:`WEIGHTS` (title first). :func:`find` is the Python API;
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
        expression = match_expression(text)
        if expression is None:
            return [], 0
        db = self._db()
        weights = ", ".join(str(w) for w in WEIGHTS)
        try:
            total = db.execute("SELECT count(*) FROM patterns WHERE patterns MATCH ?", (expression,)).fetchone()[0]
            rows = db.execute(
                f"""SELECT iri, slug, title, aliases, summary, labels,
                       snippet(patterns, 4, char(2), char(3), '…', 16),
                       snippet(patterns, -1, char(2), char(3), '…', 12)
                    FROM patterns WHERE patterns MATCH ? ORDER BY bm25(patterns, {weights}), slug
                    LIMIT ? OFFSET ?""", (expression, limit, offset)).fetchall()
        except sqlite3.OperationalError:
            return [], 0
        hits = []
        for iri, slug, title, aliases, summary, labels, summary_snippet, best in rows:
            snippet = summary_snippet if "\x02" in summary_snippet else best
            if "\x02" not in snippet:
                snippet = summary[:200]
            field = next((name for name, value in (("title", title), ("alias", aliases), ("summary", summary),
                                                   ("audience label", labels)) if _matches(value, text)), "keyword")
            hits.append(Hit(iri, slug, title, _marked(snippet), field))
        return hits, total


def _matches(value: str, text: str) -> bool:
    words = [w.lower() for w in _WORD.findall(text)]
    tokens = [t.lower() for t in _WORD.findall(value)]
    return bool(words) and all(any(t.startswith(w) for t in tokens) for w in words)


def _marked(snippet: str) -> str:
    return html.escape(snippet).replace("\x02", "<mark>").replace("\x03", "</mark>")


def _select_through_pool(query: str) -> list[dict[str, str | None]]:
    return [{k: v["value"] for k, v in b.items()} for b in pages.select(query)]


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
                                 "snippet": h.snippet.replace("<mark>", "").replace("</mark>", ""),
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


__all__ = ["find", "index", "match_expression", "search_json", "search_page", "SearchIndex", "Hit", "WEIGHTS"]
