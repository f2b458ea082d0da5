/*
 * Draws every chart of the dashboard and the report pages with the vendored Chart.js (no CDN).
 *
 * Markup: <canvas data-chart="bar|line" data-source="ID"> and, elsewhere on the page, the chart's
 * data as {{ data|json_script:"ID" }}:
 *   {"labels": [...], "datasets": [{"label": "...", "data": [numbers]}], "unit": "EUR|%|min|..."}
 * Money comes one dataset per currency: nothing is ever added up across currencies here.
 */
(function () {
  "use strict";

  var PALETTE = ["#417690", "#e08e0b", "#5b9b4a", "#b84a62", "#7c5ca8", "#3b9ea3", "#8a6d3b"];

  function readData(canvas) {
    var source = document.getElementById(canvas.dataset.source || "");
    if (!source) {
      return null;
    }
    try {
      return JSON.parse(source.textContent);
    } catch (error) {
      return null;
    }
  }

  function axisTitle(data) {
    if (!data.unit || data.unit === "currency") {
      var currencies = (data.datasets || [])
        .map(function (set) { return set.currency; })
        .filter(function (code, index, all) { return code && all.indexOf(code) === index; });
      return currencies.join(" / ");
    }
    return data.unit;
  }

  function draw(canvas) {
    var data = readData(canvas);
    if (!data || typeof window.Chart === "undefined") {
      return;
    }
    var kind = canvas.dataset.chart === "line" ? "line" : "bar";
    var datasets = (data.datasets || []).map(function (set, index) {
      var colour = PALETTE[index % PALETTE.length];
      return {
        label: set.label,
        data: set.data,
        backgroundColor: kind === "bar" ? colour : colour + "33",
        borderColor: colour,
        borderWidth: kind === "line" ? 2 : 0,
        pointRadius: kind === "line" ? 1.5 : undefined,
        tension: 0.2,
        spanGaps: true
      };
    });
    var title = axisTitle(data);
    new window.Chart(canvas, {
      type: kind,
      data: { labels: data.labels || [], datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: datasets.length > 1 || kind === "line" } },
        scales: {
          y: { beginAtZero: true, title: { display: Boolean(title), text: title } }
        }
      }
    });
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (!window.Chart || !window.Chart.getChart(canvas)) {
        draw(canvas);
      }
    });
    document.documentElement.dataset.chartsDrawn = "true";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
