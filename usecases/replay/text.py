"""The replay report as text, for the terminal (``triage rules replay``)."""

from __future__ import annotations

from typing import Any

LEVELS = ("red", "yellow", "green")


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]


def render(report: dict[str, Any]) -> str:
    p, period = report["pathway"], report["period"]
    lines = [
        f"Replay of {p['id']} version {p['version']} (sha256 {p['sha256'][:12]})",
        f"Period: {period['start']} to {period['end']} ({period['days']} days)",
        f"Uploads replayed: {report['uploads']}, changed level: {report['changed']}",
        "",
        "Stored level (rows) -> draft level (columns):",
    ]
    m = report["matrix"]
    lines += _table([["", *LEVELS]] + [[s, *(str(m[s][d]) for d in LEVELS)] for s in LEVELS])
    lines += ["", "Results                 before     after"]
    for key in ("red_per_100_uploads", "yellow_per_100_uploads", "red_per_day", "yellow_per_day"):
        before, after = report["rates"]["before"][key], report["rates"]["after"][key]
        lines.append(f"  {key:<22}{before:>8}  {after:>8}")
    lines += ["", "Items that would have opened   before  after"]
    for key in ("red", "yellow", "raised_to_red"):
        before, after = report["items_opened"]["before"][key], report["items_opened"]["after"][key]
        lines.append(f"  {key:<29}{before:>6}  {after:>5}")
    lines += ["", "Rules fired              before  after"]
    for rule, n in report["fired"].items():
        lines.append(f"  {rule:<23}{n['before']:>7}  {n['after']:>5}")
    c = report["clinicians"]
    lines += [
        "",
        f"Clinicians overrode the level of {c['overridden']} results: the draft agrees with "
        f"{c['draft_agrees']}, the stored level with {c['stored_agrees']}.",
    ]
    for cell, examples in report["examples"].items():
        lines += ["", f"Examples {cell}:"]
        for e in examples:
            changed = e["rules_changed"]
            rules = ", ".join(
                [*(f"+{r}" for r in changed["started"]), *(f"-{r}" for r in changed["stopped"])]
            )
            inputs = ", ".join(f"{k}={v}" for k, v in e["inputs"].items())
            lines.append(
                f"  {e['national_id'] or e['patient']}  {e['as_of']}  {e['upload']}  "
                f"[{rules or 'no rule changed'}]  {inputs}"
            )
    red = report["new_red_patients"]
    lines += ["", f"Patients who would have had a red and had none: {len(red)}"]
    lines += [
        f"  {r['national_id'] or r['patient']}  {r['red_uploads']} red, first {r['first_red']}"
        for r in red
    ]
    s = report["self_check"]
    lines += ["", f"Self-check: {s['reproduced']} of {s['compared']} results of this very file "]
    lines[-1] += "reproduced."
    for miss in s["not_reproduced"]:
        lines.append(f"  {miss['upload']} stored {miss['stored']}, replayed {miss['replayed']}:")
        lines += [f"    {why}" for why in miss["why"]]
    skipped = report["not_replayed"]
    for why, n in skipped["counts"].items():
        lines.append(f"Not replayed ({why}): {n}")
    return "\n".join(lines)
