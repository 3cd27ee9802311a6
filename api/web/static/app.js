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

  var HOUR = 3600000;
  var STEPS = [1, 2, 3, 6, 12, 24, 48, 168, 336].map(function (h) { return h * HOUR; });
  var LINE_COLOURS = { red: "#8f1515", yellow: "#6b4d00", green: "#14532d" };

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function clock(ms, withTime) {
    var d = new Date(ms);
    var day = two(d.getDate()) + "." + two(d.getMonth() + 1);
    return withTime ? day + " " + two(d.getHours()) + ":" + two(d.getMinutes()) : day;
  }

  // The time shown: the readings with a little room, and at least 24 h (±12 h around one).
  function timeWindow(points) {
    var first = points[0].x, last = points[points.length - 1].x;
    var middle = (first + last) / 2;
    var pad = Math.max((last - first) * 0.03, HOUR / 2);
    return {
      min: Math.min(first - pad, middle - 12 * HOUR),
      max: Math.max(last + pad, middle + 12 * HOUR)
    };
  }

  // Ticks on whole local hours or midnights, at most about eight of them.
  function timeTicks(min, max) {
    var step = STEPS.filter(function (s) { return (max - min) / s <= 8; })[0] || STEPS[STEPS.length - 1];
    var start = new Date(min);
    if (step >= 24 * HOUR) {
      start.setHours(0, 0, 0, 0);
    } else {
      start.setMinutes(0, 0, 0);
      start.setHours(start.getHours() - (start.getHours() % (step / HOUR)));
    }
    var ticks = [];
    for (var t = start.getTime(); t <= max; ) {
      if (t >= min) { ticks.push({ value: t }); }
      var next = new Date(t);
      if (step >= 24 * HOUR) { next.setDate(next.getDate() + step / (24 * HOUR)); } else { next = new Date(t + step); }
      t = next.getTime();
    }
    return { ticks: ticks, withTime: step < 24 * HOUR };
  }

  function constant(label, value, span, extra) {
    var dataset = {
      label: label,
      data: [{ x: span.min, y: value }, { x: span.max, y: value }],
      pointRadius: 0,
      borderWidth: 1.5,
      borderColor: "#14532d"
    };
    Object.keys(extra || {}).forEach(function (key) { dataset[key] = extra[key]; });
    return dataset;
  }

  function drawChart(chart) {
    var canvas = document.querySelector('canvas[data-chart="' + chart.id + '"]');
    if (!canvas || !window.Chart) { return; }
    var points = chart.points.map(function (p) { return { x: Date.parse(p.t), y: p.v }; });
    var span = timeWindow(points);
    var axis = timeTicks(span.min, span.max);
    var datasets = [{
      label: chart.name + " (" + chart.unit + ")",
      data: points,
      borderColor: "#0b4f9c",
      backgroundColor: "#0b4f9c",
      pointRadius: points.length > 200 ? 0 : 3,
      borderWidth: 2
    }];
    if (chart.band) {
      datasets.push(constant(String(chart.band.low), chart.band.low, span, {}));
      datasets.push(constant(String(chart.band.high), chart.band.high, span, {
        fill: "-1", backgroundColor: "rgba(20, 83, 45, 0.12)"
      }));
    }
    chart.lines.forEach(function (line) {
      datasets.push(constant(line.label + " " + line.value, line.value, span, {
        borderDash: [6, 4], borderColor: LINE_COLOURS[line.level] || "#8f1515"
      }));
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
          x: {
            type: "linear",
            min: span.min,
            max: span.max,
            afterBuildTicks: function (scale) { scale.ticks = axis.ticks.slice(); },
            ticks: { autoSkip: false, callback: function (value) { return clock(value, axis.withTime); } }
          },
          y: { grace: "5%", title: { display: true, text: chart.unit } }
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
