"""A crawler over the site on the shared corpus: every link the site makes resolves.

Starting from ``/``, it follows the links of each HTML page that stay on the
server (paths beginning with ``/``), breadth first, up to :data:`MAX_PAGES`
pages, plus a sample of patterns, and fetches every link found (HTML pages,
static files, data formats). Zero 404s (or any other error status) are allowed
among links the site itself makes.
"""

from __future__ import annotations

from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
import requests

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

MAX_PAGES = 120
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.anchors: list[tuple[str, str | None]] = []  # (href, rel) of every <a href>

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.anchors.append((a["href"], a.get("rel")))
        for name in ("href", "src", "action", "data-src"):
            value = a.get(name)
            if value and tag != "form":
                self.found.append(value)


def _local(base: str, page: str, link: str) -> str | None:
    absolute, _ = urldefrag(urljoin(page, link))
    if urlsplit(absolute).netloc != urlsplit(base).netloc:
        return None
    return absolute


def test_no_link_the_site_makes_is_broken(corpus_site):
    base = corpus_site.url
    session = requests.Session()
    seeds = ["/", "/browse", "/api/docs", "/about", "/search?q=commons", "/sparql",
             "/pattern/keystone-habit-identification", "/pattern/six-sigma-motorolage-quality-system",
             "/pattern/habit-architecture"]
    queue = deque(base + s for s in seeds)
    crawled: set[str] = set()
    checked: dict[str, int] = {}
    broken: list[tuple[str, str, int]] = []
    while queue and len(crawled) < MAX_PAGES:
        url = queue.popleft()
        if url in crawled:
            continue
        crawled.add(url)
        r = session.get(url, headers=HTML, timeout=60)
        checked[url] = r.status_code
        if r.status_code != 200:
            broken.append(("(seed or link)", url, r.status_code))
            continue
        if not r.headers.get("Content-Type", "").startswith("text/html"):
            continue
        parser = Links()
        parser.feed(r.text)
        for link in parser.found:
            target = _local(base, url, link)
            if target is None:
                continue
            path = urlsplit(target).path
            is_page = not path.startswith(("/static/", "/dumps/")) and "format=" not in target
            if is_page and target not in crawled:
                queue.append(target)
            elif target not in checked:
                with session.get(target, headers=HTML, timeout=300, stream=True) as answer:
                    status = answer.status_code  # the body (a dump, a script) is not read
                checked[target] = status
                if status != 200:
                    broken.append((url, target, status))
    assert len(crawled) >= 60, f"only {len(crawled)} pages crawled"
    assert not broken, broken[:20]


def test_a_large_group_is_paged_and_the_pages_cover_it_once(corpus_site):
    """``/vocab/status/draft`` names more patterns than a page lists (944 of the corpus's 951):
    its pages, followed by their "next" links, list every such pattern exactly once."""
    base = corpus_site.url
    total = int(corpus_site.select(
        "SELECT (COUNT(?p) AS ?n) WHERE { ?p <https://w3id.org/patternkg/ontology#status> "
        "<https://w3id.org/patternkg/vocab/status/draft> }")[0]["n"]["value"])
    assert total > 500
    seen: list[str] = []
    url: str | None = base + "/vocab/status/draft"
    pages = 0
    while url is not None and pages < 20:
        r = requests.get(url, headers=HTML, timeout=60)
        assert r.status_code == 200, url
        pages += 1
        assert f"of {total}," in r.text
        section = r.text.split("Patterns with this status", 1)[1].split("</section>", 1)[0]
        seen += [href for href in _hrefs(section) if href.startswith("/pattern/")]
        nxt = [href for href in _hrefs(section, rel="next")]
        url = urljoin(url, nxt[0]) if nxt else None
    assert pages == -(-total // 100)
    assert len(seen) == total and len(set(seen)) == total
    # past the last page: the last page again, not an error
    last = requests.get(base + "/vocab/status/draft?page=999", headers=HTML, timeout=60)
    assert last.status_code == 200 and f"{(pages - 1) * 100 + 1}–{total} of {total}" in last.text


def _hrefs(html: str, rel: str | None = None) -> list[str]:
    parser = Links()
    parser.feed(html)
    return [href for href, r in parser.anchors if rel is None or r == rel]
