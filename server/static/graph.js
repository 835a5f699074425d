// Draws #graph-view from the JSON at its data-src with cytoscape.js (vendored); a tap on a node opens its page.
(function () {
  "use strict";
  var box = document.getElementById("graph-view");
  if (!box || typeof cytoscape !== "function") { return; }
  fetch(box.getAttribute("data-src"), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("graph data: HTTP " + r.status); } return r.json(); })
    .then(function (data) {
      var cy = cytoscape({
        container: box,
        elements: data.nodes.concat(data.edges),
        style: [
          { selector: "node", style: {
              "label": "data(label)", "font-size": 10, "text-wrap": "ellipsis", "text-max-width": 120,
              "width": 14, "height": 14, "background-color": "#2f5fa7", "color": "#1d2330",
              "text-valign": "bottom", "text-margin-y": 3 } },
          { selector: "node[?center]", style: { "width": 26, "height": 26, "background-color": "#1d2330",
              "font-size": 13, "font-weight": "bold" } },
          { selector: "node[?missing]", style: { "background-color": "#ffffff", "border-width": 1.5,
              "border-color": "#a23a3a", "border-style": "dashed", "color": "#8a5a5a", "width": 10, "height": 10,
              "font-size": 9 } },
          { selector: "node[hop = 2]", style: { "font-size": 9, "opacity": 0.85 } },
          { selector: "edge", style: {
              "width": "mapData(weight, 0, 1, 0.5, 5)", "line-color": "#2f5fa7", "opacity": 0.6,
              "curve-style": "bezier", "target-arrow-shape": "triangle", "target-arrow-color": "#2f5fa7",
              "arrow-scale": 0.6 } },
          { selector: "edge[!weight]", style: { "width": 1.5 } },
          { selector: "edge[?inferred]", style: { "line-style": "dashed", "line-color": "#b0662b",
              "target-arrow-color": "#b0662b" } },
          { selector: "node:active, node:selected", style: { "overlay-opacity": 0.1 } }
        ],
        layout: box.getAttribute("data-center")
          ? { name: "concentric", animate: false, minNodeSpacing: 18, avoidOverlap: true,
              concentric: function (node) { return 3 - node.data("hop"); }, levelWidth: function () { return 1; } }
          : { name: "cose", animate: false, randomize: false, nodeRepulsion: function () { return 12000; },
              idealEdgeLength: function () { return 90; } }
      });
      cy.on("tap", "node", function (event) {
        var href = event.target.data("href");
        if (href) { window.location.href = href; }
      });
      window.patternkgGraph = cy;
      box.setAttribute("data-ready", String(cy.nodes().length));
    })
    .catch(function (error) { box.textContent = "The graph could not be drawn (" + error.message + ")."; });
})();
