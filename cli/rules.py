"""``triage rules``: what clinic staff run to check, test and explain pathway files.

triage rules check FILE...                    every problem, as FILE:LINE:COL: message
triage rules test FILE...                     the embedded tests, as a table
triage rules explain FILE --answers JSON      how one case is triaged, rule by rule
triage rules replay FILE [--since P90D | --from DATE --to DATE] [--json]
                                              the draft judged on the stored uploads
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from triage.engine import ThresholdError, evaluate
from triage.explain import explain, explain_dict
from triage.loading import load_pathway
from triage.loading.embedded_tests import parse_time
from triage.model import Pathway, SampleReading
from triage.problems import PathwayError
from triage.testing import TestOutcome, run_pathway_tests, sample_readings

__all__ = ["register"]


def _load(file: str, lang: str) -> Pathway | None:
    try:
        return load_pathway(file)
    except PathwayError as exc:
        print(exc.format(lang), file=sys.stderr)
        return None
    except OSError as exc:
        print(f"{file}: {exc.strerror}", file=sys.stderr)
        return None


def cmd_check(args: argparse.Namespace) -> int:
    failed = 0
    for file in args.files:
        pathway = _load(file, args.lang)
        if pathway is None:
            failed += 1
            continue
        print(
            f"{file}: OK  {pathway.id} version {pathway.version}: {len(pathway.inputs)} inputs, "
            f"{len(pathway.rules)} rules, {len(pathway.tests)} tests"
        )
    return 1 if failed else 0


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def _outcome_row(outcome: TestOutcome) -> list[str]:
    got = outcome.got.label if outcome.got is not None else "-"
    verdict = "ok" if outcome.passed else "FAIL"
    fired = ", ".join(outcome.fired) or "-"
    note = outcome.problem or ""
    if outcome.missing_rules:
        note = "did not fire: " + ", ".join(outcome.missing_rules)
    return [verdict, outcome.test.name, outcome.test.expect.label, got, fired, note]


def cmd_test(args: argparse.Namespace) -> int:
    failures = 0
    for file in args.files:
        pathway = _load(file, args.lang)
        if pathway is None:
            failures += 1
            continue
        outcomes = run_pathway_tests(pathway)
        bad = [o for o in outcomes if not o.passed]
        failures += len(bad)
        print(f"{file} ({pathway.id} version {pathway.version})")
        if outcomes:
            header = ["", "test", "expected", "got", "fired rules", ""]
            print(_table([header, *(_outcome_row(o) for o in outcomes)]))
        else:
            print("  (no tests in this file: add some under 'tests:')")
        print(f"{len(outcomes) - len(bad)} passed, {len(bad)} failed\n")
    return 1 if failures else 0


def _json_arg(value: str | None, what: str) -> Any:
    if value is None:
        return {}
    text = value
    if value.startswith("@") or (
        not value.lstrip().startswith(("{", "[")) and Path(value).is_file()
    ):
        text = Path(value.removeprefix("@")).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--{what}: not valid JSON ({exc.msg} at column {exc.colno})") from None


def _samples(raw: Any) -> dict[str, list[SampleReading]]:
    if not isinstance(raw, dict):
        raise SystemExit("--observations: give {name: [numbers]} or {name: [{value, at}]}")
    out: dict[str, list[SampleReading]] = {}
    for name, items in raw.items():
        samples = []
        for item in items if isinstance(items, list) else [items]:
            value, at = (
                (item.get("value"), parse_time(item.get("at")))
                if isinstance(item, dict)
                else (item, None)
            )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SystemExit(f"--observations: {name}: {value!r} is not a number")
            samples.append(SampleReading(Decimal(repr(value)), at))
        out[name] = samples
    return out


def cmd_explain(args: argparse.Namespace) -> int:
    pathway = _load(args.file, args.lang)
    if pathway is None:
        return 1
    answers = _json_arg(args.answers, "answers")
    observations = _samples(_json_arg(args.observations, "observations"))
    unknown = [n for n in observations if n not in pathway.observation_units]
    if unknown:
        raise SystemExit(
            f"--observations: {', '.join(unknown)} not read by {pathway.id}; "
            f"it reads: {', '.join(pathway.observation_units) or 'no readings'}"
        )
    now = parse_time(args.now) if args.now else dt.datetime.now(dt.UTC)
    if now is None:
        raise SystemExit("--now: give an ISO 8601 time with an offset")
    try:
        result = evaluate(
            pathway,
            answers=answers,
            thresholds=_json_arg(args.thresholds, "thresholds"),
            readings=sample_readings(observations, pathway, now),
            now=now,
        )
    except ThresholdError as exc:
        raise SystemExit(f"--thresholds: {exc}") from None
    if args.json:
        print(json.dumps(explain_dict(result), ensure_ascii=False, indent=2))
    else:
        print(explain(pathway, result))
    return 0


def _progress_bar(done: int, total: int) -> None:
    share = done / total if total else 1.0
    bar = "#" * int(30 * share)
    print(f"\rreplay [{bar:<30}] {done}/{total} uploads", end="", file=sys.stderr, flush=True)


def cmd_replay(args: argparse.Namespace) -> int:
    """Judge the stored uploads of the period with the draft (docs/replay.md)."""
    from usecases.publishing import PublishRefused, check
    from usecases.replay import PeriodError, parse_period, replay
    from usecases.replay.text import render

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        draft = check(text, name=args.file)
        period = parse_period(args.since, args.start, args.end, dt.datetime.now(dt.UTC))
    except PublishRefused as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    except PeriodError as exc:
        print(f"period: {exc}", file=sys.stderr)
        return 2
    progress = _progress_bar if sys.stderr.isatty() else None
    report = replay(draft, period, progress=progress).to_dict()
    if progress is not None:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(render(report))
    return 0


def register(commands: Any, lang: argparse.ArgumentParser) -> None:
    """Add ``triage rules check|test|explain`` to the ``triage`` command's sub-parsers."""
    rules = commands.add_parser("rules", help="check, test and explain pathway files")
    sub = rules.add_subparsers(dest="action", required=True)
    check = sub.add_parser(
        "check", help="every problem in the files, with line and column", parents=[lang]
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=cmd_check)
    test = sub.add_parser("test", help="run the embedded tests", parents=[lang])
    test.add_argument("files", nargs="+", metavar="FILE")
    test.set_defaults(run=cmd_test)
    exp = sub.add_parser("explain", help="how a case is triaged, rule by rule", parents=[lang])
    exp.add_argument("file", metavar="FILE")
    exp.add_argument("--answers", help="JSON {linkId: value}, or @file.json")
    exp.add_argument("--observations", help="JSON {name: [numbers] | [{value, at}]}")
    exp.add_argument("--thresholds", help="JSON {threshold: value}: the patient's own values")
    exp.add_argument("--now", help="the time to evaluate at (ISO 8601; default: now)")
    exp.add_argument("--json", action="store_true", help="print the result as JSON")
    exp.set_defaults(run=cmd_explain)
    rep = sub.add_parser(
        "replay",
        help="judge the uploads stored in a period with a draft file (DATABASE_URL)",
        parents=[lang],
    )
    rep.add_argument("file", metavar="FILE")
    rep.add_argument("--since", help="an ISO 8601 duration back from now (default P90D)")
    rep.add_argument("--from", dest="start", metavar="DATE", help="first day (YYYY-MM-DD)")
    rep.add_argument("--to", dest="end", metavar="DATE", help="last day, included")
    rep.add_argument("--json", action="store_true", help="print the report as JSON")
    rep.set_defaults(run=cmd_replay)
