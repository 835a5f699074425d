"""The HTML pages over real HTTP: landing, pattern page, the other kinds, audience lens, formats."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
import requests

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
BASE = "https://w3id.org/patternkg/library/"


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.canonical: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical.append(a["href"])
        if tag == "script" and a.get("type") != "application/json":  # a JSON data block runs nothing
            self.scripts.append(a.get("src") or "INLINE")


def page(site, path: str, status: int = 200, session: requests.Session | None = None, **kw) -> tuple[str, Links]:
    r = (session or requests).get(site.url + path, headers=HTML, timeout=30, **kw)
    assert r.status_code == status, (path, r.status_code, r.text[:500])
    assert r.headers["Content-Type"].startswith("text/html")
    parser = Links()
    parser.feed(r.text)
    assert "INLINE" not in parser.scripts, f"{path}: inline script"
    return r.text, parser


def test_landing_is_html_for_browsers_and_json_for_api_clients(site):
    text, links = page(site, "/")
    assert "3 patterns" in text or ">3<" in text
    assert 'action="/search"' in text
    for target in ("/sparql", "/api/docs", "/dumps/", "/dataset", "/ontology", "/domain/deep-work-flow",
                   "/community/organizing-and-activism"):
        assert any(link.startswith(target) for link in links.links), target
    for accept in (None, "*/*", "application/json"):
        r = requests.get(site.url + "/", headers={"Accept": accept} if accept else {}, timeout=10)
        assert r.headers["Content-Type"].startswith("application/json"), accept
        assert r.json()["links"]["sparql"].endswith("/sparql")


def test_pattern_page_reads_like_a_page(site):
    text, links = page(site, "/pattern/active-listening-depth")
    assert "<h1>Active Listening Depth</h1>" in text
    assert "Deep listening" in text  # alias
    assert "Listening for the need beneath the words" in text  # summary
    # Markdown rendered, raw HTML escaped
    assert "<table>" in text and "<ol>" in text and "<strong>Therefore</strong>" in text
    assert "<script>alert" not in text and "&lt;script&gt;alert" in text and "&lt;b&gt;bold?&lt;/b&gt;" in text
    assert "Commons assessment" in text and "<svg class=\"chart\"" in text
    assert links.canonical == [BASE + "pattern/active-listening-depth"]
    # relationships both ways, curated and inferred apart, missing target marked
    assert "Required by" in text and "Requires" in text and "Enables" in text
    assert "Machine-inferred" in text and "Listening builds the shared analysis" in text
    assert 'class="missing" href="/missing/missing-target"' in text
    # entity with its Wikidata link, community, domain; every link to the library is local
    assert "http://www.wikidata.org/entity/Q1123526" in text
    assert "/community/organizing-and-activism" in links.links and "/domain/deep-work-flow" in links.links
    assert not [link for link in links.links if link.startswith(BASE) and "rel=canonical" not in link
                and link != BASE + "pattern/active-listening-depth"]
    assert "<details class=\"raw\"" in text


def test_seed_page_shows_incoming_links(site):
    text, _ = page(site, "/pattern/distributed-organizing")
    assert "Enabled by" in text and 'href="/pattern/adaptive-facilitation"' in text
    assert "From other patterns" in text  # inferred links pointing here


@pytest.mark.parametrize("fmt,media", [("ttl", "text/turtle"), ("jsonld", "application/ld+json"),
                                       ("nt", "application/n-triples")])
def test_format_links_return_rdf_to_a_browser(site, fmt, media):
    r = requests.get(f"{site.url}/pattern/adaptive-facilitation?format={fmt}", headers=HTML, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(media)
    assert "adaptive-facilitation" in r.text


@pytest.mark.parametrize("path,expect", [
    ("/domain/deep-work-flow", "Adaptive Facilitation"),
    ("/commons-domain/life", "Active Listening Depth"),
    ("/community/organizing-and-activism", "Distributed Organizing"),
    ("/entity/Q1123526", "Active listening"),
    ("/agent/higgerix", "Adaptive Facilitation"),
    ("/vocab/status/draft", "Distributed Organizing"),
    ("/scheme/domains", "deep-work-flow"),
    ("/dataset", "Dataset"),
])
def test_every_kind_has_a_page(site, path, expect):
    text, links = page(site, path)
    assert expect in text
    assert links.canonical and links.canonical[0].startswith(("https://w3id.org/patternkg/",))


def test_missing_target_page_names_who_points_at_it(site):
    text, _ = page(site, "/pattern/missing-target", status=404)
    assert "Active Listening Depth" in text and 'href="/pattern/active-listening-depth"' in text
    again, _ = page(site, "/missing/missing-target")  # where the site links to it
    assert "Active Listening Depth" in again
    r = requests.get(site.url + "/pattern/never-mentioned-anywhere", headers=HTML, timeout=10)
    assert r.status_code == 404


def test_audience_lens_from_url_then_cookie(site):
    s = requests.Session()
    r = s.get(site.url + "/pattern/adaptive-facilitation?audience=activist", headers=HTML, timeout=10)
    assert "<h1>Movement Facilitation</h1>" in r.text
    assert s.cookies.get("audience") == "activist"
    # remembered on the next page: titles in lists use the audience's words
    r = s.get(site.url + "/domain/deep-work-flow", headers=HTML, timeout=10)
    assert "Listening Campaigns" in r.text and "Movement Facilitation" in r.text
    # back to the library's titles
    r = s.get(site.url + "/pattern/adaptive-facilitation?audience=", headers=HTML, timeout=10)
    assert "<h1>Adaptive Facilitation</h1>" in r.text and not s.cookies.get("audience")
    # an unknown audience is ignored
    r = requests.get(site.url + "/pattern/adaptive-facilitation?audience=martians", headers=HTML, timeout=10)
    assert "<h1>Adaptive Facilitation</h1>" in r.text


def test_audience_lens_in_result_tables(site):
    """Prepared-query runs and the editor's server-drawn table show a pattern's title in the chosen
    audience's words (the library title kept as a tooltip); the data formats keep the titles."""
    s = requests.Session()
    text, _ = page(site, "/api/queries/enablers?target=distributed-organizing&audience=corporate", session=s)
    assert '<a href="/pattern/adaptive-facilitation" class="in-words" title="Adaptive Facilitation">' \
           'Agile Meeting Design</a>' in text
    assert "<td>Adaptive Facilitation</td>" not in text
    text, _ = page(site, "/api/queries/search?text=facilit", session=s)  # the cookie carries the audience
    assert '<span class="in-words" title="Adaptive Facilitation">Agile Meeting Design</span>' in text
    csv = s.get(site.url + "/api/queries/enablers", params={"target": "distributed-organizing", "format": "csv"},
                timeout=10).text
    assert "Adaptive Facilitation" in csv and "Agile Meeting Design" not in csv
    query = ("SELECT ?p ?t WHERE { ?p <http://purl.org/dc/terms/title> ?t "
             "FILTER(?p = <https://w3id.org/patternkg/library/pattern/active-listening-depth>) }")
    text, _ = page(site, "/sparql?" + urlencode({"query": query, "audience": "activist"}), session=s)
    assert '<span class="in-words" title="Active Listening Depth">Listening Campaigns</span>' in text
    text, _ = page(site, "/sparql?" + urlencode({"query": query, "audience": ""}), session=s)  # back to the library
    assert "<td>Active Listening Depth</td>" in text and "Listening Campaigns" not in text


def test_search_page_and_api(site):
    text, links = page(site, "/search?q=beneath")
    assert "/pattern/active-listening-depth" in links.links and "<mark>beneath</mark>" in text
    r = requests.get(site.url + "/api/search", params={"q": "facilit"}, timeout=10)  # a prefix
    results = r.json()["results"]
    assert results[0]["slug"] == "adaptive-facilitation" and results[0]["href"] == "/pattern/adaptive-facilitation"
    r = requests.get(site.url + "/api/search", params={"q": "Movement Facilitation"}, timeout=10)  # audience label
    assert [x["slug"] for x in r.json()["results"]][:1] == ["adaptive-facilitation"]
    assert requests.get(site.url + "/api/search", params={"q": "zzqqxx"}, timeout=10).json()["total"] == 0


def test_graph_data(site):
    r = requests.get(site.url + "/graph/pattern/adaptive-facilitation.json", timeout=10)
    data = r.json()
    ids = {n["data"]["id"] for n in data["nodes"]}
    assert BASE + "pattern/distributed-organizing" in ids and BASE + "pattern/active-listening-depth" in ids
    # two hops: the seed's own targets are there too
    assert BASE + "pattern/advocacy-without-mandate" in ids
    kinds = {(e["data"]["inferred"]) for e in data["edges"]}
    assert kinds == {True, False}
    assert all(e["data"]["source"] in ids and e["data"]["target"] in ids for e in data["edges"])
    hrefs = {n["data"]["href"] for n in data["nodes"]}
    assert all(h.startswith("/") for h in hrefs)
    r = requests.get(site.url + "/graph/domain/deep-work-flow.json", timeout=10)
    assert len(r.json()["nodes"]) == 3
    text, _ = page(site, "/graph/pattern/adaptive-facilitation")
    assert 'id="graph-view"' in text


def test_static_files_and_vendored_licenses(site):
    for path in ("/static/site.css", "/static/site.js", "/static/graph.js",
                 "/static/vendor/cytoscape/cytoscape.min.js", "/static/vendor/cytoscape/LICENSE"):
        assert requests.get(site.url + path, timeout=10).status_code == 200, path


def test_no_page_links_off_site_for_library_iris(site):
    for path in ("/", "/browse", "/pattern/distributed-organizing", "/domain/deep-work-flow"):
        _, links = page(site, path)
        local = [link for link in links.links if link.startswith("/")]
        assert local
        assert not [link for link in links.links if re.match(r"https://w3id\.org/patternkg/library/(?!pattern/)", link)
                    and link not in links.canonical]


def test_prepared_search_query_answers_from_the_index(site):
    r = requests.get(site.url + "/api/queries/search", params={"text": "facilit"}, timeout=10)
    body = r.json()
    assert r.status_code == 200 and body["total"] >= 1
    assert body["rows"][0]["slug"] == "adaptive-facilitation" and body["rows"][0]["match"] == "title"
    r = requests.get(site.url + "/api/queries/search", params={"text": "Movement Facilitation", "format": "csv"},
                     timeout=10)
    assert r.text.splitlines()[0] == "pattern,slug,title,match" and "adaptive-facilitation" in r.text
    assert requests.get(site.url + "/api/queries/search", timeout=10).status_code == 400  # text is required
    text, _ = page(site, "/api/queries/search?text=beneath")
    assert 'href="/pattern/active-listening-depth"' in text
