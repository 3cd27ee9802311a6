// The clinicians' pages: reveal a national id on demand, refresh the worklist every 10 s,
// draw readings with Chart.js when it is loaded (the tables stay as the fallback).
"use strict";

(function () {
  var POLL_MS = 10000;

  function revealIdentifier(button) {
    var target = document.getElementById(button.getAttribute("data-target"));
    fetch("/app/patients/" + encodeURIComponent(button.getAttribute("data-patient")) + "/identifier", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (body) {
      if (target && body.identifier) {
        target.textContent = body.identifier;
        button.hidden = true;
        target.setAttribute("tabindex", "-1");
        target.focus();
      }
    }).catch(function () { button.disabled = true; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.reveal") : null;
    if (button) { event.preventDefault(); revealIdentifier(button); }
  });

  // A row's resolve/override controls wait in a <template> until the clinician opens them:
  // live inputs in every one of 500 rows made the list slow to draw.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.open || !details.querySelector) { return; }
    var template = details.querySelector(":scope > template.actions-template");
    if (template) {
      details.appendChild(template.content.cloneNode(true));
      template.remove();
      var first = details.querySelector("input, select");
      if (first) { first.focus(); }
    }
  }, true);

  function busy(tbody) {
    // Do not replace rows under a clinician who is typing a note or has a form open.
    return tbody.contains(document.activeElement) || tbody.querySelector("details[open]") !== null;
  }

  function refresh(table) {
    var tbody = document.getElementById("worklist-rows");
    if (!tbody || busy(tbody)) { return; }
    fetch(table.getAttribute("data-source"), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (response.redirected || !response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (body) {
      if (busy(tbody)) { return; }
      tbody.innerHTML = body.rows;
      Object.keys(body.counts).forEach(function (level) {
        var cell = document.querySelector('#counts [data-level="' + level + '"]');
        if (cell) { cell.textContent = String(body.counts[level]); }
      });
      var updated = document.getElementById("updated");
      if (updated) { updated.textContent = body.updated; }
      var more = document.getElementById("more");
      if (more) { more.hidden = !body.more; }
    }).catch(function () { /* the next round tries again */ });
  }

  function startPolling() {
    var table = document.getElementById("worklist");
    if (!table) { return; }
    window.setInterval(function () { refresh(table); }, POLL_MS);
  }

  function clock(ms) {
    var d = new Date(ms);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(d.getDate()) + "." + two(d.getMonth() + 1) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function constant(label, value, points, extra) {
    var dataset = {
      label: label,
      data: points.map(function (p) { return { x: p.x, y: value }; }),
      pointRadius: 0,
      borderWidth: 1,
      borderColor: "#14532d"
    };
    Object.keys(extra || {}).forEach(function (key) { dataset[key] = extra[key]; });
    return dataset;
  }

  function drawChart(chart) {
    var canvas = document.querySelector('canvas[data-chart="' + chart.id + '"]');
    if (!canvas || !window.Chart) { return; }
    var points = chart.points.map(function (p) { return { x: Date.parse(p.t), y: p.v }; });
    var datasets = [{
      label: chart.name + " (" + chart.unit + ")",
      data: points,
      borderColor: "#0b4f9c",
      backgroundColor: "#0b4f9c",
      pointRadius: points.length > 200 ? 0 : 3,
      borderWidth: 2
    }];
    if (chart.band) {
      datasets.push(constant(String(chart.band.low), chart.band.low, points, {}));
      datasets.push(constant(String(chart.band.high), chart.band.high, points, {
        fill: "-1", backgroundColor: "rgba(20, 83, 45, 0.12)"
      }));
    }
    chart.lines.forEach(function (value) {
      datasets.push(constant(String(value), value, points, { borderDash: [6, 4], borderColor: "#8f1515" }));
    });
    canvas.hidden = false;
    new window.Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        parsing: false,
        maintainAspectRatio: false,
        scales: {
          x: { type: "linear", ticks: { callback: function (value) { return clock(value); }, maxTicksLimit: 8 } },
          y: { title: { display: true, text: chart.unit } }
        },
        plugins: { legend: { display: true } }
      }
    });
    var figure = canvas.closest("figure");
    if (figure) { figure.classList.add("drawn"); }
  }

  function drawCharts() {
    var block = document.getElementById("chart-data");
    if (!block || !window.Chart) { return; }
    var charts;
    try { charts = JSON.parse(block.textContent); } catch (e) { return; }
    charts.forEach(function (chart) {
      try {
        drawChart(chart);
      } catch (e) {
        // The table below the canvas stays; no blank canvas is left in its place.
        var canvas = document.querySelector('canvas[data-chart="' + chart.id + '"]');
        if (canvas) { canvas.hidden = true; }
      }
    });
  }

  function ready() { startPolling(); drawCharts(); }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
