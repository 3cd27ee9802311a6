"""What bench/e2e.py prints at the end: the issue's table of targets and figures, then
the CPU per upload by process, the floor, the many-Bundles burst and the peak memory."""

from __future__ import annotations

import json
from typing import Any


def table(out: dict[str, Any]) -> str:
    steady = next((r for r in out["sweep"] if r["rate"] == 100), {})
    rows = [
        ("knee (p95 < 1 s)", ">= 250 uploads/s", f"{out['knee']:.0f} uploads/s"),
        ("p95 at 100 uploads/s", "< 300 ms", f"{steady.get('p95_ms', float('nan')):.0f} ms"),
    ]
    if "cpu" in out:
        cpu = out["cpu"]
        rows.append(
            (
                "CPU per upload, all processes",
                "<= 4 x floor",
                f"{cpu['server_ms']:.2f} ms = {cpu['ratio']:.1f} x "
                f"{sum(cpu['floor_ms'].values()):.2f} ms",
            )
        )
    if "cgm_288" in out:
        rows.append(
            (
                "288-reading CGM Bundle, to worklist",
                "< 1 s",
                f"{out['cgm_288']['to_worklist_ms']:.0f} ms",
            )
        )
    if out.get("bundle100_resources_per_s"):
        rows.append(
            (
                "bundles of 100 (API)",
                ">= 3,000 resources/s",
                f"{out['bundle100_resources_per_s']:,.0f}/s",
            )
        )
    if out.get("wrk_single_per_s"):
        rows.append(("single POSTs (API, wrk)", ">= 400/s", f"{out['wrk_single_per_s']:,.0f}/s"))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{a:<{width}}  {b:<22} {c}" for a, b, c in rows)


def report(out: dict[str, Any]) -> None:
    print()
    print(table(out))
    if "cpu" in out:
        print(
            "CPU per upload (ms):",
            json.dumps({k: round(v, 2) for k, v in out["cpu"]["per_upload_ms"].items()}),
        )
        print(
            "floor (ms):", json.dumps({k: round(v, 3) for k, v in out["cpu"]["floor_ms"].items()})
        )
    if "bundles_1000x24" in out:
        print("1,000 patients x Bundle of 24 within 10 s:", json.dumps(out["bundles_1000x24"]))
    print("peak RSS (MB):", json.dumps({k: round(v) for k, v in out["memory_mb"].items()}))
