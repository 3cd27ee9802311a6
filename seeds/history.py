"""Twelve months of synthetic follow-up: a few hundred patients in the questionnaire
pathways, each with the forms they sent (on time, late, or not at all, and a few reports
between), for :mod:`seeds.history_load` to write through the service's use cases.

Deterministic: the same ``seed`` gives the same patients, answers and times relative to
``now``. Which level each form gives is drawn first (most wrist and epilepsy forms green),
then answers that give that level by the pathway files in ``rules/``; a unit test checks
every form with the engine. Forms follow each pathway's ``schedule`` as the statistics
count it (docs/statistics.md): the first falls due ``every`` after the follow-up began, the
next ``every`` after the previous answer; a patient answers hours to days after it fell
due, sometimes after ``overdue_after``, and a few stop answering.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seeds import fhir, people
from seeds import questionnaires as q
from triage.model import Schedule

__all__ = ["MIX", "SEED", "Follow", "Form", "History", "generate_history"]

SEED = 20250101
DAY = dt.timedelta(days=1)
_HOUR = dt.timedelta(hours=1)
YEAR = dt.timedelta(days=365)
# Patients per pathway in a history of the default size (320 patients).
MIX = {"wrist-fracture": 130, "epilepsy": 110, "copd": 35, "depression-phq9": 45}
URLS = {
    "wrist-fracture": q.WRIST,
    "epilepsy": q.EPILEPSY,
    "copd": q.COPD,
    "depression-phq9": q.PHQ9,
}
# The chance that a scheduled form gives red and yellow (the rest is green).
LEVELS = {
    "wrist-fracture": (0.05, 0.16),
    "epilepsy": (0.05, 0.15),
    "copd": (0.07, 0.22),
    "depression-phq9": (0.08, 0.25),
}
HISTORY_SYSTEM = "http://example.no/fhir/sid/demo-history"


@dataclass
class Form:
    """One upload: a response (with the oximeter's readings for COPD), and the level the
    answers were drawn to give."""

    at: dt.datetime
    level: str
    resources: list[dict[str, Any]]
    scheduled: bool = True


@dataclass
class Follow:
    """One synthetic patient followed in one pathway."""

    key: str
    pathway: str
    resource: dict[str, Any]
    thresholds: dict[str, Any]
    began: dt.datetime  # the day the follow-up began (enrolled_at)
    enrolled: dt.datetime  # when the clinician enrolled the patient (never before the start)
    forms: list[Form] = field(default_factory=list)
    ended: dt.datetime | None = None


@dataclass
class History:
    now: dt.datetime
    start: dt.datetime
    patients: list[Follow]

    def counts(self) -> dict[str, int]:
        forms = [f for p in self.patients for f in p.forms]
        return {
            "patients": len(self.patients),
            "forms": len(forms),
            "scheduled": sum(f.scheduled for f in forms),
            "ended": sum(p.ended is not None for p in self.patients),
        }


def generate_history(
    now: dt.datetime,
    schedules: dict[str, Schedule],
    seed: int = SEED,
    scale: float = 1.0,
    avoid: frozenset[str] = frozenset(),
) -> History:
    """The history ending at ``now``; ``scale`` multiplies the patients of :data:`MIX`;
    ``avoid``: national ids already taken (the demo's)."""
    rng = random.Random(seed)
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    start = now - YEAR
    maker = _Maker(rng, now, start, set(avoid))
    patients: list[Follow] = []
    for pathway, count in MIX.items():
        for _ in range(max(1, round(count * scale))):
            patients.append(maker.follow(pathway, schedules[pathway]))
    return History(now, start, patients)


class _Maker:
    def __init__(self, rng: random.Random, now: dt.datetime, start: dt.datetime, taken: set[str]):
        self.rng, self.now, self.start = rng, now, start
        self.taken = taken
        self.names: set[str] = set()
        self.count = 0

    def follow(self, pathway: str, schedule: Schedule) -> Follow:
        self.count += 1
        key = f"hist-{self.count:03d}"
        began, stop = self._span(pathway)
        enrolled = max(began, self.start + self.rng.uniform(0.1, 2) * DAY)
        person = Follow(key, pathway, self._patient(key), self._own(pathway), began, enrolled)
        self._forms(person, schedule, stop)
        return person

    def _patient(self, key: str) -> dict[str, Any]:
        while True:
            resource = people.make_patient(key, self.rng, self.names)
            fnr = resource["identifier"][0]["value"]
            if fnr not in self.taken:
                self.taken.add(fnr)
                resource["meta"]["tag"][0]["code"] = "synthetic-demo-history"
                return resource

    def _span(self, pathway: str) -> tuple[dt.datetime, int]:
        """When the follow-up began, and the most forms it runs for (0: no end planned)."""
        r = self.rng
        if pathway == "epilepsy":  # long-term: many began before the year shown
            return self.now - r.uniform(30, 540) * DAY, 0
        if pathway == "wrist-fracture":  # surgery, then forms for about twelve weeks
            return self.now - r.uniform(3, 360) * DAY, 6
        if pathway == "depression-phq9":  # a course of treatment
            return self.now - r.uniform(10, 360) * DAY, r.randint(8, 20)
        return self.now - r.uniform(20, 360) * DAY, 0 if r.random() < 0.9 else r.randint(6, 14)

    def _own(self, pathway: str) -> dict[str, Any]:
        """The patient's own thresholds, for some: they never change the level drawn."""
        if pathway == "epilepsy" and self.rng.random() < 0.1:
            return {"seizures_red": 4}
        if pathway == "copd" and self.rng.random() < 0.25:
            return {"cat_baseline": 14}
        return {}

    def _forms(self, p: Follow, schedule: Schedule, most: int) -> None:
        r, every = self.rng, schedule.every
        late = (schedule.overdue_after or every).approx_timedelta() / DAY
        due, last = every.after(p.began), p.began
        while most == 0 or len(p.forms) < most:
            if due >= self.now:
                return
            if r.random() < 0.02:  # stops answering; the clinic ends the follow-up later
                p.ended = _at_work(due + r.uniform(late + 14, late + 35) * DAY)
                break
            roll = r.random()
            if roll < 0.72:
                wait = r.uniform(0.05, 1.5)
            elif roll < 0.9:
                wait = r.uniform(1.5, max(1.6, late * 0.9))
            else:
                wait = r.uniform(late + 0.5, late + 9)  # after the overdue flag
            at = due + wait * DAY
            if at.hour < 6:  # answered in the morning, not in the night
                at += 7 * _HOUR
            if at >= self.now:
                return
            report = last + r.uniform(0.2, 0.8) * (due - last)
            if report > p.enrolled + DAY and r.random() < _REPORTS[p.pathway]:
                self._report(p, report)
            p.forms.append(self._form(p, at, len(p.forms), True))
            due, last = every.after(at), at
        if p.ended is None and p.forms and most:
            p.ended = _at_work(p.forms[-1].at + r.uniform(1, 6) * DAY)
        if p.ended is not None and p.ended >= self.now:
            p.ended = None

    def _report(self, p: Follow, at: dt.datetime) -> None:
        """A report between the scheduled forms: mostly something the patient wants seen."""
        roll = self.rng.random()
        level = "red" if roll < 0.2 else "yellow" if roll < 0.7 else "green"
        p.forms.append(self._make(p, at, level, 0))

    def _form(self, p: Follow, at: dt.datetime, number: int, scheduled: bool) -> Form:
        red, yellow = LEVELS[p.pathway]
        if p.pathway == "wrist-fracture" and number < 2:
            red, yellow = red * 1.5, yellow * 1.6  # the first weeks after surgery
        roll = self.rng.random()
        level = "red" if roll < red else "yellow" if roll < red + yellow else "green"
        return self._make(p, at, level, number, scheduled)

    def _make(
        self, p: Follow, at: dt.datetime, level: str, number: int, scheduled: bool = False
    ) -> Form:
        at = at.replace(microsecond=0)
        n = len(p.forms)
        low_oxygen = p.pathway == "copd" and level == "red" and self.rng.random() < 0.5
        drawn = "green" if low_oxygen else level  # a low saturation alone gives red
        answers = _ANSWERS[p.pathway](self.rng, drawn, number)
        systems = {"side-effects": q.SIDE_EFFECTS} | {
            link: q.LOINC for link in answers if link.startswith(("phq9", "gad7"))
        }
        ident = f"{p.key}-qr-{n}"
        qr = fhir.response(ident, URLS[p.pathway], at, answers, systems)
        qr["identifier"]["system"] = HISTORY_SYSTEM
        resources = [qr]
        if p.pathway == "copd":
            resources += self._oximeter(p.key, n, at, low_oxygen)
        return Form(at, level, resources, scheduled)

    def _oximeter(self, key: str, n: int, at: dt.datetime, low: bool) -> list[dict[str, Any]]:
        r = self.rng
        spo2 = r.randint(85, 87) if low else r.randint(92, 96)
        pulse = r.randint(68, 96)
        out = [
            fhir.reading(f"{key}-o2-{n}", "59408-5", spo2, at - 0.1 * DAY, "Pulsoksymeter"),
            fhir.reading(f"{key}-hr-{n}", "8867-4", pulse, at - 0.1 * DAY, "Pulsoksymeter"),
        ]
        for reading in out:
            reading["identifier"][0]["system"] = HISTORY_SYSTEM
        return out


_REPORTS = {"wrist-fracture": 0.04, "epilepsy": 0.5, "copd": 0.03, "depression-phq9": 0.04}


def _at_work(when: dt.datetime) -> dt.datetime:
    """The next weekday at 10:00 UTC (a clinician's working day in Oslo)."""
    day = when.replace(hour=10, minute=0, second=0, microsecond=0)
    if day < when:
        day += DAY
    while day.weekday() >= 5:
        day += DAY
    return day


def _wrist(r: random.Random, level: str, number: int) -> dict[str, Any]:
    heal = min(number, 5)
    pain, function = r.randint(0, max(1, 3 - heal // 2)), r.randint(min(5 + heal, 9), 10)
    answers = {"pain": pain, "function": function}
    flags = {"wound-problem": False, "numbness": False, "fever": False}
    if level == "red":
        if r.random() < 0.3:
            flags["wound-problem"] = flags["fever"] = True
        else:
            answers["pain"] = r.randint(7, 9)
    elif level == "yellow":
        kind = r.choice(("numbness", "pain", "wound", "function"))
        if kind == "numbness":
            flags["numbness"] = True
        elif kind == "pain":
            answers["pain"] = r.randint(4, 6)
        elif kind == "wound":
            flags["wound-problem"] = True
        else:
            answers["function"] = r.randint(2, 4)
    return answers | flags


def _epilepsy(r: random.Random, level: str, number: int) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "seizure-count": 0,
        "new-seizure-type": False,
        "side-effects": "none",
        "wants-contact": False,
    }
    if level == "red":
        kind = r.choice(("many", "many", "new", "severe"))
        if kind == "many":
            answers["seizure-count"] = r.randint(4, 8)
        elif kind == "new":
            answers |= {"seizure-count": r.randint(1, 2), "new-seizure-type": True}
        else:
            answers["side-effects"] = "severe"
    elif level == "yellow":
        kind = r.choice(("seizures", "seizures", "side", "contact"))
        if kind == "seizures":
            answers["seizure-count"] = r.randint(1, 2)
        elif kind == "side":
            answers["side-effects"] = "mild"
        else:
            answers["wants-contact"] = True
    return answers


def _spread(r: random.Random, total: int, items: int, most: int) -> list[int]:
    """``items`` scores of at most ``most`` adding up to ``total``."""
    scores = [0] * items
    for _ in range(total):
        scores[r.choice([i for i, s in enumerate(scores) if s < most])] += 1
    return scores


def _phq9(r: random.Random, level: str, number: int) -> dict[str, Any]:
    codes = [code for code, _ in q.FREQUENCY]
    if level == "red" and r.random() < 0.6:
        scores = [*_spread(r, r.randint(6, 14), 8, 3), r.randint(1, 2)]  # question 9
    elif level == "red":
        scores = [*_spread(r, r.randint(20, 24), 8, 3), 0]
    elif level == "yellow":
        scores = [*_spread(r, r.randint(10, 18), 8, 3), 0]
    else:
        scores = [*_spread(r, r.randint(0, 9), 8, 3), 0]
    answers: dict[str, Any] = {f"phq9-{i}": codes[s] for i, s in enumerate(scores, start=1)}
    return answers | {"wants-contact": False}


def _copd(r: random.Random, level: str, number: int) -> dict[str, Any]:
    if level == "green":
        total = r.randint(3, 11)
    elif level == "yellow":
        total = r.randint(17, 24)
    else:
        total = r.randint(31, 35)
    scores = _spread(r, total, 8, 5)
    answers: dict[str, Any] = {f"cat-{i}": s for i, s in enumerate(scores, start=1)}
    rescue = level == "yellow" and r.random() < 0.2
    return answers | {"rescue-pack": rescue, "wants-contact": False}


_ANSWERS: dict[str, Callable[[random.Random, str, int], dict[str, Any]]] = {
    "wrist-fracture": _wrist,
    "epilepsy": _epilepsy,
    "depression-phq9": _phq9,
    "copd": _copd,
}
