// Draw every plotly figure ([data-figure] naming the id of a JSON <script>) in the page, and again in
// whatever htmx swaps in. Shared by the quota and forecasting pages; plotly is served locally.
(function () {
  function drawFigures(root) {
    if (!window.Plotly) { return; }
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.figure);
      if (!source) { return; }
      if (el.dataset.drawn === source.textContent) { return; }
      var fig = JSON.parse(source.textContent);
      Plotly.react(el, fig.data, fig.layout, {displaylogo: false, responsive: true}).then(function () {
        el.dataset.drawn = source.textContent;
      });
    });
  }
  window.revopsDrawFigures = drawFigures;
  window.addEventListener("load", function () { drawFigures(document); });
  document.addEventListener("htmx:afterSettle", function () { drawFigures(document); });
})();
