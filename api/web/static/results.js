// The page "Resultater": draw each chart of #results-data with Chart.js when it is loaded.
// The tables beside the charts hold the same numbers and stay whether or not it draws.
// Levels keep their shapes (■ red, ▲ yellow, ● green) and line styles: never colour alone.
"use strict";

(function () {
  var STYLES = {
    red: { color: "#8f1515", point: "rect", dash: [] },
    yellow: { color: "#6b4d00", point: "triangle", dash: [6, 4] },
    green: { color: "#14532d", point: "circle", dash: [2, 3] },
    avoided: { color: "#0b4f9c", point: "triangle", dash: [6, 4] },
    count: { color: "#0b4f9c", point: "circle", dash: [] }
  };

  function dataset(spec, type) {
    var style = STYLES[spec.style] || STYLES.count;
    return {
      label: spec.label,
      data: spec.data,
      borderColor: style.color,
      backgroundColor: type === "bar" ? "rgba(11, 79, 156, 0.75)" : style.color,
      borderDash: style.dash,
      pointStyle: style.point,
      pointRadius: 5,
      borderWidth: 2,
      spanGaps: true
    };
  }

  function draw(chart) {
    var canvas = document.querySelector('canvas[data-chart="' + chart.id + '"]');
    if (!canvas || !window.Chart) { return; }
    var box = canvas.parentElement;
    box.hidden = false;
    var y = { beginAtZero: true, title: { display: true, text: chart.y } };
    if (chart.max) { y.max = chart.max; }
    new window.Chart(canvas, {
      type: chart.type,
      data: {
        labels: chart.labels,
        datasets: chart.datasets.map(function (d) { return dataset(d, chart.type); })
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: y },
        plugins: {
          legend: { display: chart.datasets.length > 1, labels: { usePointStyle: true } }
        }
      }
    });
    var figure = canvas.closest("figure");
    if (figure) { figure.classList.add("drawn"); }
  }

  function ready() {
    var block = document.getElementById("results-data");
    if (!block || !window.Chart) { return; }
    var charts;
    try { charts = JSON.parse(block.textContent); } catch (e) { return; }
    charts.forEach(function (chart) {
      try {
        draw(chart);
      } catch (e) {
        var canvas = document.querySelector('canvas[data-chart="' + chart.id + '"]');
        if (canvas) { canvas.parentElement.hidden = true; }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
