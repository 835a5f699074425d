"""The audience lens: the site in one audience's words.

A pattern may carry labels per audience (``pkg:contextLabel`` with
``pkg:audience <VOCAB>audience/<name>``: corporate, government, activist,
tech, ...). The chosen audience comes from ``?audience=<name>`` (shareable: a
link with it shows the same words to anyone) or else from the ``audience``
cookie, which :func:`remember` sets whenever the URL names one (``?audience=``
empty goes back to the library's own titles and clears it). Pages then show a
pattern's label for that audience, where it has one, in place of its title:
in lists and headings (:mod:`.pages`), and in result tables (prepared-query
runs, the editor's server-drawn results) through :func:`in_words`.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, g, request

from patternkg.converter.namespaces import DCTERMS, PKG, VOCAB, is_safe_segment

COOKIE = "audience"
PARAM = "audience"
_CACHE = "patternkg.audiences"


def current() -> str | None:
    """The audience chosen for this request (URL first, then cookie), or ``None``."""
    if "audience" in g:
        return g.audience
    value = request.args.get(PARAM)
    if value is None:
        value = request.cookies.get(COOKIE)
    chosen = value if value and is_safe_segment(value) and value in available() else None
    g.audience = chosen
    return chosen


def available() -> list[str]:
    """The audiences the library has labels for (asked once per served store generation)."""
    state = current_app.extensions["patternkg"]
    generation = getattr(getattr(state, "generation", None), "id", None)
    key = (_CACHE, generation)
    cached = current_app.extensions.get(key)  # type: ignore[call-overload]
    if cached is None:
        _, body = current_app.extensions["patternkg"].pool.run(
            "query", query=f"SELECT DISTINCT ?a WHERE {{ ?l <{PKG}audience> ?a }}", results_format="JSON",
            graph_format="N_TRIPLES")
        names = []
        for row in json.loads(body)["results"]["bindings"]:
            value = row["a"]["value"]
            if value.startswith(VOCAB + "audience/"):
                names.append(value[len(VOCAB + "audience/"):])
        cached = current_app.extensions[key] = sorted(names)  # type: ignore[index]
    return cached


def keep(path: str) -> str:
    """A local link: the chosen audience travels in the cookie, so links stay plain paths."""
    return path


def remember(response: Response) -> Response:
    """Set (or clear) the cookie when the URL names an audience; called after every request."""
    if PARAM not in request.args or not response.mimetype == "text/html":
        return response
    value = request.args.get(PARAM, "")
    if value and is_safe_segment(value):
        response.set_cookie(COOKIE, value, max_age=365 * 86400, samesite="Lax", httponly=True)
    elif not value:
        response.delete_cookie(COOKIE, samesite="Lax", httponly=True)
    return response


def words_of(iris: set[str]) -> dict[str, tuple[str, str]]:
    """``{pattern IRI: (library title, label in the chosen audience's words)}`` for those of
    *iris* that have both (one query; empty without an audience). Like the pages, the first
    label the store gives is taken when a pattern has several for one audience."""
    chosen = current()
    iris = {i for i in iris if not any(c in i for c in '<>"{}|^`\\ ')}
    if not chosen or not iris:
        return {}
    values = " ".join(f"<{i}>" for i in sorted(iris))
    _, body = current_app.extensions["patternkg"].pool.run("query", query=f"""SELECT ?p ?title ?words WHERE {{
        VALUES ?p {{ {values} }}
        ?p <{PKG}contextLabel> ?cl . ?cl <{PKG}audience> <{VOCAB}audience/{chosen}> ; <{PKG}labelText> ?words .
        ?p <{DCTERMS}title> ?title .
    }}""", results_format="JSON", graph_format="N_TRIPLES")
    found: dict[str, tuple[str, str]] = {}
    for row in json.loads(body)["results"]["bindings"]:
        found.setdefault(row["p"]["value"], (row["title"]["value"], row["words"]["value"]))
    return found


def in_words(rows: list[list[dict[str, Any]]]) -> None:
    """Put the chosen audience's words into a result table, in place.

    *rows* are lists of cells: ``{"type": "uri", "value": IRI, "text": shown}`` or
    ``{"type": "literal", "value": shown, ...}``. A cell that shows the library title of a
    pattern named (as an IRI) in the same row shows that pattern's audience label instead,
    and keeps the title in ``"original"``; IRIs shown as such stay. Without an audience, or
    for patterns without a label for it, nothing changes."""
    if current() is None:
        return
    named = words_of({c["value"] for row in rows for c in row if c.get("type") == "uri" and "value" in c})
    if not named:
        return
    for row in rows:
        swap = dict(named[c["value"]] for c in row if c.get("type") == "uri" and c.get("value") in named)
        for cell in row:
            key = "text" if cell.get("type") == "uri" else "value"
            words = swap.get(cell.get(key)) if cell.get("type") in ("uri", "literal", "typed-literal") else None
            if words is not None and words != cell[key]:
                cell["original"], cell[key] = cell[key], words


def context() -> dict[str, Any]:
    """Template variables of the switcher shown on every page."""
    try:
        names = available()
    except Exception:  # a store that cannot answer still gets its pages (the switcher is hidden)
        names = []
    return {"audiences": names, "audience": current() if names else None}


__all__ = ["current", "available", "keep", "remember", "context", "words_of", "in_words", "COOKIE", "PARAM"]
