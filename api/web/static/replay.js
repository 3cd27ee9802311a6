// The page "Prøv endring": while a replay job runs, ask for its status every 2 s and show
// the report (reload) when it is done; without JavaScript the "Refresh now" link does it.
// On the report, draw the before/after bars of #replay-data with Chart.js; the table beside
// holds the same numbers. "Before" is solid, "after" hatched: never colour alone.
"use strict";

(function () {
  function poll(box) {
    var url = box.dataset.statusUrl;
    var state = document.getElementById("job-state");
    function ask() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          if (s.status === "done" || s.status === "failed") {
            window.location.reload();
            return;
          }
          var word = box.dataset["word" + s.status.charAt(0).toUpperCase() + s.status.slice(1)];
          if (state && word) { state.textContent = word + (s.total ? " · " + s.done + " / " + s.total : ""); }
          window.setTimeout(ask, 2000);
        })
        .catch(function () { window.setTimeout(ask, 5000); });
    }
    window.setTimeout(ask, 1000);
  }

  function hatched(color) {
    var tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    var ctx = tile.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, 8, 8);
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(0, 8); ctx.lineTo(8, 0);
    ctx.moveTo(-2, 2); ctx.lineTo(2, -2);
    ctx.moveTo(6, 10); ctx.lineTo(10, 6);
    ctx.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  function draw(chart) {
    var canvas = document.querySelector('canvas[data-chart="' + chart.id + '"]');
    if (!canvas || !window.Chart) { return; }
    canvas.parentElement.hidden = false;
    var styles = {
      before: { backgroundColor: "#4b5563", borderColor: "#1f2937" },
      after: { backgroundColor: hatched("#0b4f9c"), borderColor: "#0b4f9c" }
    };
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels,
        datasets: chart.datasets.map(function (d) {
          var s = styles[d.style] || styles.before;
          return {
            label: d.label,
            data: d.data,
            backgroundColor: s.backgroundColor,
            borderColor: s.borderColor,
            borderWidth: 2
          };
        })
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: chart.y } } },
        plugins: { legend: { display: true } }
      }
    });
    var figure = canvas.closest("figure");
    if (figure) { figure.classList.add("drawn"); }
  }

  function ready() {
    var box = document.getElementById("job-status");
    if (box && box.dataset.status !== "failed") { poll(box); }
    var block = document.getElementById("replay-data");
    if (!block || !window.Chart) { return; }
    var charts;
    try { charts = JSON.parse(block.textContent); } catch (e) { return; }
    charts.forEach(function (chart) {
      try { draw(chart); } catch (e) {
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
