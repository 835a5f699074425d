// The query editor: YASGUI (vendored) on this server's endpoint, offline.
// - prefixes, classes and properties complete from /api/vocabulary (never prefix.cc or LOV);
// - the prepared queries load as examples;
// - the query lives in the URL (/sparql?query=...), so a run can be shared;
// - links in the results that name library IRIs go to this server's pages;
// - with an audience chosen (data-audience), a cell that shows the title of a pattern linked
//   in its row shows the pattern's label in that audience's words (asked of this endpoint).
(function () {
  "use strict";
  var box = document.getElementById("yasgui");
  if (!box || typeof Yasgui !== "function") { return; }
  var textarea = document.getElementById("query-text");
  var endpoint = new URL(box.getAttribute("data-endpoint"), window.location.href).toString();
  var examples = JSON.parse(document.getElementById("examples-data").textContent);

  fetch(box.getAttribute("data-vocabulary"), { headers: { "Accept": "application/json" } })
    .then(function (r) { return r.json(); })
    .then(start)
    .catch(function (error) { box.textContent = "The editor could not start (" + error.message + ")."; });

  function localHref(iri, vocab) {
    if (iri.indexOf(vocab.base) === 0) { return "/" + iri.substring(vocab.base.length); }
    if (iri.indexOf(vocab.vocab) === 0) { return "/vocab/" + iri.substring(vocab.vocab.length); }
    return null;
  }

  function start(vocab) {
    var Yasqe = Yasgui.Yasqe;
    var prefixList = Object.keys(vocab.prefixes).map(function (p) { return p + ": <" + vocab.prefixes[p] + ">"; });
    Yasqe.forkAutocompleter("prefixes", { name: "libraryPrefixes", persistenceId: null,
      get: function () { return Promise.resolve(prefixList); } }, false);
    Yasqe.forkAutocompleter("class", { name: "libraryClasses", bulk: true, autoShow: false, persistenceId: null,
      get: function () { return Promise.resolve(vocab.classes); } }, false);
    Yasqe.forkAutocompleter("property", { name: "libraryProperties", bulk: true, autoShow: false, persistenceId: null,
      get: function () { return Promise.resolve(vocab.properties); } }, false);
    var completers = ["variables", "libraryPrefixes", "libraryClasses", "libraryProperties"];
    Yasqe.defaults.autocompleters = completers.slice();

    var yasgui = new Yasgui(box, {
      persistenceId: null,
      copyEndpointOnNewTab: false,
      endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
      requestConfig: { endpoint: endpoint, method: "POST",
        acceptHeaderSelect: "application/sparql-results+json,*/*;q=0.9",
        acceptHeaderGraph: "text/turtle,*/*;q=0.9" },
      yasqe: { value: textarea.value, autocompleters: completers, prefixCcApi: "", resizeable: true,
        editorHeight: "22rem", collapsePrefixesOnLoad: true },
      yasr: { prefixes: vocab.prefixes }
    });
    document.body.classList.add("editor-ready");
    window.patternkgEditor = yasgui;
    var tab = yasgui.getTab();
    tab.setQuery(textarea.value);

    // the query in the URL, after every run
    yasgui.on("query", function (instance, t) {
      var query = t.getQuery();
      var url = new URL(window.location.href);
      url.search = "";
      url.searchParams.set("query", query);
      window.history.replaceState(null, "", url.pathname + url.search);
    });

    // results: links to library IRIs go to the local pages, in this window
    var results = box;
    var rewrite = function () {
      results.querySelectorAll("a[href]").forEach(function (a) {
        var iri = a.getAttribute("href");
        var local = localHref(iri, vocab);
        if (local) {
          a.setAttribute("href", local); a.removeAttribute("target"); a.setAttribute("data-local", "yes");
          a.setAttribute("data-iri", iri);
        }
      });
      inWords();
    };

    // the audience lens: {pattern IRI: [library title, audience words]}; null while asked or when none
    var audience = box.getAttribute("data-audience");
    var known = {};
    var pkg = vocab.prefixes.pkg || "https://w3id.org/patternkg/ontology#";
    var dcterms = vocab.prefixes.dcterms || "http://purl.org/dc/terms/";
    var unsafe = /[<>"{}|^`\\\s]/;
    function inWords() {
      if (!audience) { return; }
      var rows = results.querySelectorAll(".yasr tbody tr");
      var wanted = [];
      rows.forEach(function (tr) {
        tr.querySelectorAll("a[data-iri]").forEach(function (a) {
          var iri = a.getAttribute("data-iri");
          if (iri.indexOf(vocab.base + "pattern/") === 0 && !(iri in known) && !unsafe.test(iri)) {
            known[iri] = null;
            wanted.push(iri);
          }
        });
      });
      if (wanted.length) { ask(wanted.slice(0, 2000)); }
      rows.forEach(function (tr) {
        var swap = {};
        tr.querySelectorAll("a[data-iri]").forEach(function (a) {
          var found = known[a.getAttribute("data-iri")];
          if (found) { swap[found[0]] = found[1]; }
        });
        tr.querySelectorAll("span.nonIri").forEach(function (span) {
          var words = swap[span.textContent];
          if (words && words !== span.textContent && !span.classList.contains("in-words")) {
            span.setAttribute("title", span.textContent);
            span.classList.add("in-words");
            span.textContent = words;
          }
        });
      });
    }
    function ask(iris) {
      var query = "SELECT ?p ?title ?words WHERE {\n  VALUES ?p { " +
        iris.map(function (i) { return "<" + i + ">"; }).join(" ") + " }\n" +
        "  ?p <" + pkg + "contextLabel> ?cl . ?cl <" + pkg + "audience> <" + vocab.vocab + "audience/" +
        encodeURIComponent(audience) + "> ; <" + pkg + "labelText> ?words .\n" +
        "  ?p <" + dcterms + "title> ?title .\n}";
      fetch(endpoint, { method: "POST", body: new URLSearchParams({ query: query }),
                        headers: { "Accept": "application/sparql-results+json" } })
        .then(function (r) { return r.json(); })
        .then(function (doc) {
          doc.results.bindings.forEach(function (b) {
            if (!known[b.p.value]) { known[b.p.value] = [b.title.value, b.words.value]; }
          });
          inWords();
        })
        .catch(function () { /* the library's titles stay */ });
    }
    new MutationObserver(rewrite).observe(results, { childList: true, subtree: true });

    // examples load into the editor (their links still work without JavaScript)
    document.querySelectorAll("a.example").forEach(function (a) {
      a.addEventListener("click", function (event) {
        var found = examples.filter(function (e) { return e.name === a.getAttribute("data-name"); })[0];
        if (!found) { return; }
        event.preventDefault();
        yasgui.getTab().setQuery(found.sparql);
        window.scrollTo(0, 0);
      });
    });

    if (box.getAttribute("data-run") === "yes") { tab.query(); }
  }
})();
