"""Building blocks of the demo: a synthetic patient's record and the seeded builder."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from seeds import fhir, people
from seeds import questionnaires as q

OSLO = ZoneInfo("Europe/Oslo")


@dataclass
class DemoPatient:
    """One synthetic patient: the Patient, enrolments, uploads (each one Bundle), expectations."""

    key: str
    story: str
    resource: dict[str, Any]
    enrolments: dict[str, Mapping[str, float]] = field(default_factory=dict)
    uploads: list[list[dict[str, Any]]] = field(default_factory=list)
    expect: dict[str, str] = field(default_factory=dict)

    def began(self) -> dt.datetime:
        """When the patient's follow-up began: the day before the oldest data sent."""
        times = [
            dt.datetime.fromisoformat(resource.get("authored") or resource["effectiveDateTime"])
            for upload in self.uploads
            for resource in upload
        ]
        return min(times) - dt.timedelta(days=1)


class Builder:
    def __init__(self, now: dt.datetime, seed: int) -> None:
        self.now = now.astimezone(OSLO).replace(microsecond=0)
        self.rng = random.Random(seed)
        self.names: set[str] = set()
        self.patients: list[DemoPatient] = []
        self.count = 0

    def patient(self, story: str) -> DemoPatient:
        self.count += 1
        key = f"demo-{self.count:02d}"
        person = DemoPatient(key, story, people.make_patient(key, self.rng, self.names))
        self.patients.append(person)
        return person

    def ago(self, days: float = 0, hours: float = 0) -> dt.datetime:
        return self.now - dt.timedelta(days=days, hours=hours)

    def form(self, p: DemoPatient, url: str, days: float, answers: dict[str, Any]) -> None:
        n = len(p.uploads)
        systems = {"side-effects": q.SIDE_EFFECTS} | {
            link: q.LOINC for link in answers if link.startswith(("phq9", "gad7"))
        }
        qr = fhir.response(f"{p.key}-qr-{n}", url, self.ago(days, 1), answers, systems)
        p.uploads.append([qr])

    def daily(
        self, p: DemoPatient, tag: str, days: int, per_day: int, make: Callable[..., Any]
    ) -> list[dict[str, Any]]:
        """``make(ident, at, days_ago)`` (a resource or a list) ``per_day`` times a day."""
        out: list[dict[str, Any]] = []
        for day in range(days - 1, -1, -1):
            for k in range(per_day):
                at = self.ago(day, 1 + k * 12 + self.rng.uniform(0, 0.5))
                made = make(f"{p.key}-{tag}-d{day}-{k}", at, day)
                out.extend(made if isinstance(made, list) else [made])
        out.sort(key=lambda r: r["effectiveDateTime"])
        return out

    def jitter(self, value: float, spread: float) -> float:
        return round(value + self.rng.uniform(-spread, spread), 1)
