// The query editor: YASGUI (vendored) on this server's endpoint, offline.
// - prefixes, classes and properties complete from /api/vocabulary (never prefix.cc or LOV);
// - the prepared queries load as examples;
// - the query lives in the URL (/sparql?query=...), so a run can be shared;
// - links in the results that name library IRIs go to this server's pages.
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
        var local = localHref(a.getAttribute("href"), vocab);
        if (local) { a.setAttribute("href", local); a.removeAttribute("target"); a.setAttribute("data-local", "yes"); }
      });
    };
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
