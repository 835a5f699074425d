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

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
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
