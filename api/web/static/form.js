// The patient form: hide the items enableWhen turns off (and disable their fields, so they
// are not sent), and on the thank-you page fetch the patient's message. The server decides
// again on submit; the form works without this script.
(function () {
  "use strict";

  function valueOf(form, field) {
    const inputs = form.querySelectorAll('[name="' + field + '"]');
    for (const input of inputs) {
      if (input.disabled) return null;
      if (input.type === "radio") { if (input.checked) return input.value; continue; }
      return input.value.trim() === "" ? null : input.value.trim();
    }
    return null;
  }

  function number(text) {
    const n = Number(String(text).replace(",", "."));
    return Number.isFinite(n) ? n : null;
  }

  function holds(form, rule) {
    const value = rule.field ? valueOf(form, rule.field) : null;
    if (rule.op === "exists") return (value !== null) === Boolean(rule.value);
    if (value === null) return false;
    if (Array.isArray(rule.value)) {
      const same = rule.value.includes(value);
      return rule.op === "=" ? same : rule.op === "!=" ? !same : false;
    }
    let left = value, right = rule.value;
    if (rule.kind === "integer" || rule.kind === "decimal") {
      left = number(value); right = number(rule.value);
      if (left === null || right === null) return false;
    }
    switch (rule.op) {
      case "=": return left === right;
      case "!=": return left !== right;
      case ">": return left > right;
      case "<": return left < right;
      case ">=": return left >= right;
      case "<=": return left <= right;
    }
    return false;
  }

  function update(form) {
    for (const item of form.querySelectorAll("[data-when]")) {
      const when = JSON.parse(item.dataset.when);
      const results = when.rules.map((rule) => holds(form, rule));
      const on = when.behavior === "any" ? results.some(Boolean) : results.every(Boolean);
      const inside = item.parentElement.closest("[data-item][hidden]");
      const show = on && !inside;
      item.hidden = !show;
      for (const field of item.querySelectorAll("input, textarea, select")) {
        field.disabled = !show;
      }
    }
  }

  function setUpForm(form) {
    const run = () => { update(form); update(form); };
    form.addEventListener("change", run);
    form.addEventListener("input", run);
    run();
    const summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  function poll(box) {
    if (box.dataset.judged) return;
    let tries = 0;
    const ask = () => {
      tries += 1;
      fetch(box.dataset.status, { headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : null))
        .then((said) => {
          if (said && said.judged) {
            box.replaceChildren();
            const messages = said.messages.length ? said.messages : [box.dataset.none || ""];
            for (const text of messages) {
              const p = document.createElement("p");
              p.className = "message";
              p.textContent = text;
              box.appendChild(p);
            }
            box.dataset.judged = "true";
          } else if (tries < 120) {
            setTimeout(ask, 1000);
          }
        })
        .catch(() => { if (tries < 120) setTimeout(ask, 2000); });
    };
    setTimeout(ask, 500);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.querySelector("form.patient-form");
    if (form) setUpForm(form);
    const box = document.getElementById("outcome");
    if (box) poll(box);
  });
})();
