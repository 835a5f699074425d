"""HTTP content negotiation: constant format tables and an ``Accept`` parser with q-values.

Contract:

- :func:`parse_accept` turns an ``Accept`` header into media ranges; malformed
  entries are skipped, a missing or empty header means ``*/*``.
- :func:`choose` picks, among the server's *offers* (in order of server
  preference), the one with the highest q-value; each offer gets the q-value of
  the most specific range that matches it (``type/subtype`` > ``type/*`` > ``*/*``,
  as RFC 9110 section 12.5.1 says). Ties go to the earlier offer. ``None`` means
  nothing is acceptable (the caller answers 406). Answers are cached per header
  for the constant tables.
- The tables map media types to pyoxigraph formats; the first entry of each
  table is the default sent when the client does not say what it wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "MediaRange",
    "Offer",
    "RESULTS_OFFERS",
    "GRAPH_OFFERS",
    "PAGE_OFFERS",
    "RDF_PAGE_OFFERS",
    "parse_accept",
    "choose",
]


class MediaRange(NamedTuple):
    type: str
    subtype: str
    q: float

    @property
    def specificity(self) -> int:
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 2

    def matches(self, media_type: str) -> bool:
        main, _, sub = media_type.partition("/")
        return (self.type == "*" or self.type == main) and (self.subtype == "*" or self.subtype == sub)


@dataclass(frozen=True)
class Offer:
    """A representation the server can produce: its media type and a format key.

    ``format`` names the pyoxigraph format (``QueryResultsFormat``/``RdfFormat``
    attribute) or a special renderer (``html``); ``content_type`` is the exact
    ``Content-Type`` header sent: always the format's own media type, also when the
    client asked with an alias (``application/json`` is answered as
    ``application/sparql-results+json`` or ``application/ld+json``, as Oxigraph does).
    """

    media_type: str
    format: str
    content_type: str


def _offer(media_type: str, fmt: str, answered_as: str | None = None) -> Offer:
    """An offer for *media_type*, answered with ``Content-Type: answered_as`` (default: itself)."""
    return Offer(media_type, fmt, f"{answered_as or media_type}; charset=utf-8")


_RESULTS_JSON = "application/sparql-results+json"
_RESULTS_XML = "application/sparql-results+xml"

#: SELECT and ASK results; the first is the default. The aliases after the first four
#: are the ones Oxigraph accepts, answered with the same formats and media types.
RESULTS_OFFERS: tuple[Offer, ...] = (
    _offer(_RESULTS_JSON, "JSON"),
    _offer(_RESULTS_XML, "XML"),
    _offer("text/csv", "CSV"),
    _offer("text/tab-separated-values", "TSV"),
    _offer("application/json", "JSON", _RESULTS_JSON),
    _offer("application/xml", "XML", _RESULTS_XML),
    _offer("text/xml", "XML", _RESULTS_XML),
    _offer("text/plain", "CSV", "text/csv"),
)

#: CONSTRUCT and DESCRIBE results (and RDF documents); the first is the default.
GRAPH_OFFERS: tuple[Offer, ...] = (
    _offer("text/turtle", "TURTLE"),
    _offer("application/ld+json", "JSON_LD"),
    _offer("application/n-triples", "N_TRIPLES"),
    _offer("application/n-quads", "N_QUADS"),
    _offer("application/rdf+xml", "RDF_XML"),
    _offer("application/trig", "TRIG"),
    _offer("application/json", "JSON_LD", "application/ld+json"),
    _offer("text/plain", "N_TRIPLES", "application/n-triples"),
    _offer("application/x-turtle", "TURTLE", "text/turtle"),
    _offer("application/xml", "RDF_XML", "application/rdf+xml"),
    _offer("text/xml", "RDF_XML", "application/rdf+xml"),
)

#: Linked-data pages: RDF first (so ``*/*`` gets Turtle), HTML for browsers,
#: which list ``text/html`` with a higher q-value than ``*/*``. ``application/xml``
#: is not offered: browsers list it too (q=0.9), and RDF/XML is asked for by name.
PAGE_OFFERS: tuple[Offer, ...] = (
    _offer("text/turtle", "TURTLE"),
    _offer("application/ld+json", "JSON_LD"),
    _offer("application/n-triples", "N_TRIPLES"),
    _offer("application/rdf+xml", "RDF_XML"),
    _offer("text/html", "html"),
    _offer("application/xhtml+xml", "html"),
    _offer("application/json", "JSON_LD", "application/ld+json"),
    _offer("application/x-turtle", "TURTLE", "text/turtle"),
    _offer("text/plain", "N_TRIPLES", "application/n-triples"),
)

#: The same documents where no HTML page exists (``/void`` before the web front end).
RDF_PAGE_OFFERS: tuple[Offer, ...] = tuple(o for o in PAGE_OFFERS if o.format != "html")


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header (``*/*`` when absent or empty)."""
    if header is None or not header.strip():
        return [MediaRange("*", "*", 1.0)]
    ranges: list[MediaRange] = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if media == "*":  # some old clients send a bare "*"
            media = "*/*"
        main, slash, sub = media.partition("/")
        if not slash or not main or not sub or (main == "*" and sub != "*"):
            continue
        q = 1.0
        for param in fields[1:]:
            name, eq, value = param.partition("=")
            if eq and name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
                break
        if not 0.0 <= q <= 1.0:
            continue
        ranges.append(MediaRange(main, sub, q))
    return ranges


def quality(ranges: list[MediaRange], media_type: str) -> float:
    """The q-value the client gives *media_type* (0 when no range matches)."""
    best: MediaRange | None = None
    for r in ranges:
        if r.matches(media_type) and (best is None or r.specificity > best.specificity):
            best = r
    return best.q if best is not None else 0.0


def choose(header: str | None, offers: tuple[Offer, ...] | list[Offer]) -> Offer | None:
    """The preferred acceptable offer for an ``Accept`` header, or ``None`` (406).

    Answers for the constant offer tables are cached per header (clients send the
    same few ``Accept`` headers over and over)."""
    table = _TABLES.get(id(offers))
    if table is None or table is not offers or (header is not None and len(header) > _CACHEABLE_HEADER):
        return _choose(header, offers)
    key = (header, id(offers))
    try:
        return _cache[key]
    except KeyError:
        pass
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    offer = _cache[key] = _choose(header, offers)
    return offer


_CACHEABLE_HEADER = 1024
_CACHE_SIZE = 512
_TABLES = {id(t): t for t in (RESULTS_OFFERS, GRAPH_OFFERS, PAGE_OFFERS, RDF_PAGE_OFFERS)}
_cache: dict[tuple[str | None, int], Offer | None] = {}


def _choose(header: str | None, offers: tuple[Offer, ...] | list[Offer]) -> Offer | None:
    ranges = parse_accept(header)
    best: Offer | None = None
    best_q = 0.0
    for offer in offers:
        q = quality(ranges, offer.media_type)
        if q > best_q:
            best, best_q = offer, q
    return best



class Negotiated(NamedTuple):
    """What to answer a query of one form with: ``wanted`` is None when nothing is acceptable
    (406); ``results`` and ``graph`` are the offers the worker serialises with (defaults filled)."""

    wanted: Offer | None
    results: Offer
    graph: Offer


def negotiate(form: str, accept: str | None) -> Negotiated:
    """Pick the response format for a query of *form* (SELECT, ASK, CONSTRUCT, DESCRIBE)."""
    results_offer = choose(accept, RESULTS_OFFERS)
    graph_offer = choose(accept, GRAPH_OFFERS)
    if form in ("SELECT", "ASK"):
        wanted = results_offer
    elif form in ("CONSTRUCT", "DESCRIBE"):
        wanted = graph_offer
    else:
        wanted = results_offer or graph_offer
    return Negotiated(wanted, results_offer or RESULTS_OFFERS[0], graph_offer or GRAPH_OFFERS[0])
