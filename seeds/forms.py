"""Demo patients who answer questionnaires: epilepsy, wrist fracture, PHQ-9 and COPD
(CAT, sent together with the pulse oximeter's readings)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from seeds import fhir
from seeds import questionnaires as q
from seeds.builder import Builder


def _epilepsy(n: int, wants: bool = False, side: str = "none") -> dict[str, Any]:
    return {
        "seizure-count": n,
        "new-seizure-type": False,
        "side-effects": side,
        "wants-contact": wants,
    }


def _wrist(
    pain: int, function: int, wound: bool = False, numb: bool = False, fever: bool = False
) -> dict[str, Any]:
    return {
        "pain": pain,
        "function": function,
        "wound-problem": wound,
        "numbness": numb,
        "fever": fever,
    }


def _phq(scores: list[int], gad: list[int] | None = None) -> dict[str, Any]:
    codes = [code for code, _ in q.FREQUENCY]
    answers: dict[str, Any] = {f"phq9-{i}": codes[s] for i, s in enumerate(scores, start=1)}
    answers |= {f"gad7-{i}": codes[s] for i, s in enumerate(gad or [], start=1)}
    return answers | {"wants-contact": False}


def _cat(scores: list[int], rescue: bool = False) -> dict[str, Any]:
    answers: dict[str, Any] = {f"cat-{i}": s for i, s in enumerate(scores, start=1)}
    return answers | {"rescue-pack": rescue, "wants-contact": False}


# A story, the level it promises, its forms (days ago, seizures or (seizures, side effects)),
# and the patient's own thresholds.
EpilepsyStory = tuple[str, str, list[tuple[int, int | tuple[int, str]]], dict[str, float]]


def questionnaire_patients(b: Builder) -> None:
    ep = "epilepsy"
    epilepsy: list[EpilepsyStory] = [
        ("4 anfall siden sist", "red", [(182, 0), (3, 4)], {}),
        ("ett anfall og plagsomme bivirkninger", "yellow", [(9, (1, "mild"))], {}),
        ("rolig periode", "green", [(190, 0), (5, 0)], {}),
        ("2 anfall, egen rødgrense 2", "red", [(2, 2)], {"seizures_red": 2}),
        ("siste skjema for sju måneder siden (forfalt)", "green", [(210, 0)], {}),
    ]
    for story, level, forms, own in epilepsy:
        p = b.patient(f"epilepsi: {story}")
        p.enrolments[ep] = own
        p.expect[ep] = level
        for days, answer in forms:
            n, side = answer if isinstance(answer, tuple) else (answer, "none")
            b.form(p, q.EPILEPSY, days, _epilepsy(n, side=side))
    wf = "wrist-fracture"
    for story, level, sent in [
        ("gror fint", "green", [(15, _wrist(3, 6)), (1, _wrist(1, 8))]),
        ("nummenhet i fingrene", "yellow", [(2, _wrist(3, 6, numb=True))]),
        ("sårproblem med feber", "red", [(1, _wrist(5, 5, wound=True, fever=True))]),
    ]:
        p = b.patient(f"håndleddsbrudd: {story}")
        p.enrolments[wf] = {}
        p.expect[wf] = level
        for days, answers in sent:
            b.form(p, q.WRIST, days, answers)
    dp = "depression-phq9"
    for story, level, sent in [
        (
            "milde symptomer, så bedre",
            "green",
            [(30, _phq([1, 1, 1, 1, 1, 0, 1, 1, 0])), (12, _phq([1, 0, 1, 1, 0, 0, 1, 0, 0]))],
        ),
        (
            "moderate symptomer",
            "yellow",
            [(4, _phq([2, 2, 1, 2, 1, 1, 2, 1, 0], [1, 2, 1, 2, 1, 1, 1]))],
        ),
        ("tanker om selvskading", "red", [(1, _phq([2, 2, 2, 2, 1, 2, 1, 1, 1]))]),
        (
            "siste skjema for 19 dager siden (forfalt)",
            "green",
            [(33, _phq([0, 1, 0, 1, 0, 0, 1, 0, 0])), (19, _phq([0, 1, 0, 1, 0, 0, 0, 0, 0]))],
        ),
    ]:
        p = b.patient(f"depresjon: {story}")
        p.enrolments[dp] = {}
        p.expect[dp] = level
        for days, answers in sent:
            b.form(p, q.PHQ9, days, answers)


def copd_patients(b: Builder) -> None:
    for story, level, cat, spo2, latest_spo2, own in [
        ("stabil", "green", [1] * 8, 95, None, {}),
        ("mer plager enn vanlig", "yellow", [2, 2, 2, 2, 1, 1, 2, 2], 94, None, {}),
        ("lav oksygenmetning i dag", "red", [2, 2, 2, 2, 2, 1, 2, 2], 92, 86, {}),
        (
            "lav metning er vanlig, egne grenser",
            "green",
            [2, 2, 2, 2, 1, 1, 2, 1],
            89,
            None,
            {"cat_baseline": 14, "spo2_red": 85, "spo2_yellow": 88},
        ),
    ]:
        p = b.patient(f"KOLS: {story}")
        p.enrolments["copd"] = own
        p.expect["copd"] = level

        def oximeter(ident: str, at: dt.datetime, day: int, base: float = spo2) -> dict[str, Any]:
            return fhir.reading(ident, "59408-5", b.jitter(base, 0.9), at, "Pulsoksymeter")

        def pulse(ident: str, at: dt.datetime, day: int) -> dict[str, Any]:
            return fhir.reading(ident, "8867-4", round(b.jitter(78, 6)), at, "Pulsoksymeter")

        readings = b.daily(p, "o2", 7, 2, oximeter) + b.daily(p, "hr", 7, 1, pulse)
        if latest_spo2 is not None:
            readings.append(
                fhir.reading(
                    f"{p.key}-spo2-now", "59408-5", latest_spo2, b.ago(0, 0.5), "Pulsoksymeter"
                )
            )
        qr = fhir.response(f"{p.key}-qr-0", q.COPD, b.ago(0, 0.7), _cat(cat))
        p.uploads.append([qr, *readings])  # the app sends the form and the oximeter data together
