"""Writing the demo history (:mod:`seeds.history`) through the service's own use cases, each
event as of its own time (:mod:`runtime.clock`).

Time walks forward from a year ago to now. At each event the clock is set and the same use
case the API or the worker would call is called: questionnaires and patients are stored by
ingest, patients enrolled (with the day their follow-up began) and their follow-up ended
by the enrolment use cases, each upload ingested as the app's transaction Bundle and
judged at once by the triage job (``triage_outbox``, inline instead of through the broker),
the overdue check run every morning, and every item a synthetic clinician of the pathway
sees acknowledged, sometimes overridden, and resolved with the contact that happened,
after a delay a clinic would take (hours for red, up to days for green). What is still
waiting at ``now`` stays open: today's worklist.

Loading twice writes nothing the second time: the history's first patient is its marker.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from runtime import clock
from seeds import fhir
from seeds import questionnaires as q
from seeds.demo import generate
from seeds.history import MIX, SEED, Follow, Form, History, generate_history
from seeds.people import FNR_SYSTEM
from store.db import session_scope
from store.models import Patient, WorklistItem
from store.notifications import Notification
from store.pathways import current_pathways
from usecases import enrolments, worklist
from usecases.ingest.bundle import ingest_bundle
from usecases.ingest.prepare import Caller
from usecases.ingest.upload import ingest
from usecases.judging.job import triage_outbox
from usecases.periodic import mark_overdue

__all__ = ["Clinician", "HistoryReport", "load_history"]

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
RANK = {"red": 0, "yellow": 1, "green": 2}
STAFF = {
    "wrist-fracture": ("ortoped-a", "ortoped-b", "fysioterapeut-c"),
    "epilepsy": ("nevrolog-a", "epilepsisykepleier-b"),
    "copd": ("lungelege-a", "lungesykepleier-b"),
    "depression-phq9": ("psykolog-a", "psykiater-b", "sykepleier-c"),
}
# The contact a clinician records (None: no contact recorded), by the contact the rule
# recommended; under None: digital or none recommended, or an overdue form.
CONTACTS: dict[str | None, tuple[tuple[str | None, float], ...]] = {
    "physical": (
        ("physical", 0.45),
        ("phone", 0.3),
        ("video", 0.1),
        ("digital", 0.1),
        (None, 0.05),
    ),
    "video": (("video", 0.45), ("phone", 0.3), ("physical", 0.1), ("digital", 0.1), (None, 0.05)),
    "phone": (
        ("phone", 0.6),
        ("digital", 0.15),
        ("none", 0.1),
        ("physical", 0.06),
        ("video", 0.04),
        (None, 0.05),
    ),
    None: (("digital", 0.55), ("phone", 0.2), ("none", 0.2), (None, 0.05)),
}
RAISE = "Urolig pasient i telefonen; vil se pasienten raskere"
LOWER = {"yellow": "Kjent og stabil hos oss; ikke akutt", "green": "Avklart med pasienten"}


@dataclass(frozen=True)
class Clinician:
    """A synthetic clinician of the demo, as the use cases see a caller (an Actor)."""

    subject: str
    pathways: frozenset[str]
    role: str = "clinician"
    patient_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return True

    def may_see_pathway(self, pathway_id: str, /) -> bool:
        return "*" in self.pathways or pathway_id in self.pathways


@dataclass
class HistoryReport:
    loaded: bool
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        if not self.loaded:
            return "the demo history is already in the database"
        shown = ", ".join(f"{n} {what}" for what, n in self.counts.items())
        return f"twelve months of demo history in {self.seconds:.1f} s: {shown}"


def load_history(
    now: dt.datetime | None = None,
    seed: int = SEED,
    scale: float = 1.0,
    progress: Callable[[str], None] = lambda _: None,
) -> HistoryReport:
    """Write the history ending at ``now`` (default: the wall clock) unless it is there."""
    import time

    began = time.monotonic()
    now = now or dt.datetime.now(dt.UTC)
    with session_scope() as session:
        pathways = current_pathways(session)
    missing = [p for p in MIX if p not in pathways or pathways[p].schedule is None]
    if missing:
        raise RuntimeError(f"the demo history needs these pathways with a schedule: {missing}")
    schedules = {p: pathways[p].schedule for p in MIX}
    taken = frozenset(p.resource["identifier"][0]["value"] for p in generate(now).patients)
    history = generate_history(now, schedules, seed, scale, taken)  # type: ignore[arg-type]
    if _loaded(history):
        return HistoryReport(False)
    walk = _Walk(history, random.Random(seed + 1), progress)
    quiet = logging.getLogger("usecases")  # a line per upload judged: thousands here
    level = quiet.level
    quiet.setLevel(max(level, logging.WARNING))
    try:
        walk.run()
    finally:
        quiet.setLevel(level)
    _past_events_told(now)
    return HistoryReport(True, time.monotonic() - began, walk.counts)


def _past_events_told(now: dt.datetime) -> None:
    """The history's patients were told of their results when they happened: the events
    the history wrote ("result ready" for a form of last spring) are marked as told, so a
    freshly started demo does not send a year of them at once."""
    with session_scope() as session:
        session.execute(
            sa.update(Notification)
            .where(col(Notification.status) == "pending", col(Notification.created) < now)
            .values(status="logged")
        )


def _loaded(history: History) -> bool:
    marker = history.patients[0].resource["identifier"][0]["value"]
    with session_scope() as session:
        query = select(Patient.id).where(
            col(Patient.identifier_system) == FNR_SYSTEM, col(Patient.identifier_value) == marker
        )
        return session.exec(query).first() is not None


Action = Callable[[], None]


class _Walk:
    def __init__(
        self, history: History, rng: random.Random, progress: Callable[[str], None]
    ) -> None:
        self.history, self.rng, self.progress = history, rng, progress
        self.queue: list[tuple[dt.datetime, int, Action]] = []
        self.order = itertools.count()
        self.ids: dict[str, str] = {}  # patient key -> the service's id
        self.keys: dict[str, str] = {}  # and back
        self.handled: dict[str, int] = {}  # item id -> the rank of the level handled
        self.pending: set[str] = set()  # items with a clinician's step planned
        self.staff = {
            pathway: [Clinician(f"clinician:{name}", frozenset({pathway})) for name in names]
            for pathway, names in STAFF.items()
        }
        self.counts = dict.fromkeys(
            ("patients", "uploads", "acknowledged", "overridden", "resolved", "ended"), 0
        )

    def at(self, when: dt.datetime, action: Action) -> None:
        heapq.heappush(self.queue, (when, next(self.order), action))

    def run(self) -> None:
        h = self.history
        self.at(h.start, self._questionnaires)
        for p in h.patients:
            self.at(p.enrolled, partial(self._enrol, p))
            for form in p.forms:
                sent = form.at + self.rng.uniform(1, 20) * dt.timedelta(minutes=1)
                self.at(sent, partial(self._upload, p, form))
            if p.ended is not None:
                self.at(p.ended, partial(self._end, p))
        morning = h.start.replace(hour=5, minute=0, second=0) + DAY
        while morning < h.now:
            self.at(morning, self._morning)
            morning += DAY
        month = h.start.month
        while self.queue and self.queue[0][0] < h.now:
            when, _, action = heapq.heappop(self.queue)
            with clock.frozen_at(when):
                action()
            if when.month != month:
                month = when.month
                self.progress(f"history at {when:%Y-%m}: {self.counts['uploads']} uploads")

    # -- the patients' side ---------------------------------------------------------------

    def _questionnaires(self) -> None:
        for questionnaire in q.questionnaires():
            ingest(
                questionnaire, "Questionnaire", Caller(author=True), f"url={questionnaire['url']}"
            )

    def _enrol(self, p: Follow) -> None:
        ident = p.resource["identifier"][0]
        query = f"identifier={ident['system']}|{ident['value']}"
        entry = ingest(p.resource, "Patient", Caller(staff=True), query)
        self.ids[p.key], self.keys[entry.id] = entry.id, p.key
        clinician = self.staff[p.pathway][0]
        enrolments.enrol(clinician, entry.id, p.pathway, p.thresholds, p.began)
        self.counts["patients"] += 1

    def _upload(self, p: Follow, form: Form) -> None:
        patient_id = self.ids[p.key]
        bundle = fhir.transaction(form.resources, patient_id)
        ingest_bundle(bundle, Caller(patient_id=patient_id), hand_over=_judge)
        self.counts["uploads"] += 1
        self._look(f"{patient_id}|{p.pathway}")

    def _end(self, p: Follow) -> None:
        clinician = self.rng.choice(self.staff[p.pathway])
        enrolments.end_enrolment(clinician, self.ids[p.key], p.pathway)
        self.counts["ended"] += 1

    # -- the clinic's side ----------------------------------------------------------------

    def _morning(self) -> None:
        """The scheduler's overdue check, then every item not yet seen to."""
        mark_overdue()
        with session_scope() as session:
            query = select(WorklistItem).where(col(WorklistItem.open_key).is_not(None))
            items = session.exec(query).all()
        # The history's own items (not those of patients already in the database), in the
        # order of the history rather than of the random ids: the same history each time.
        mine = [i for i in items if i.patient_id in self.keys]
        for item in sorted(mine, key=lambda i: (i.created, self.keys[i.patient_id], i.pathway_id)):
            self._plan(item)

    def _look(self, open_key: str) -> None:
        with session_scope() as session:
            query = select(WorklistItem).where(col(WorklistItem.open_key) == open_key)
            item = session.exec(query).first()
        if item is not None:
            self._plan(item)

    def _plan(self, item: WorklistItem) -> None:
        """Plan what a clinician does with an open item: once, and again when it rises to
        a worse level or red data re-opens it."""
        level = item.override_level or item.level
        seen = self.handled.get(item.id)
        done = seen is not None and RANK[level] >= seen
        if done and (item.id in self.pending or item.status != "open"):
            return
        self.handled[item.id] = RANK[level]
        self.pending.add(item.id)
        now, r = clock.now(), self.rng
        if level == "green":
            self.at(_working(now + r.uniform(3, 60) * HOUR), partial(self._resolve, item.id))
        elif level == "yellow":
            self.at(_working(now + r.uniform(1, 30) * HOUR), partial(self._review, item.id))
        else:
            self.at(_on_call(now + r.uniform(0.3, 5) * HOUR), partial(self._review, item.id))

    def _review(self, item_id: str) -> None:
        self.pending.discard(item_id)
        item = _item_by_id(item_id)
        if item is None or item.status == "resolved":
            return
        who = self.rng.choice(self.staff[item.pathway_id])
        if item.status == "open":
            worklist.acknowledge(item_id, who)
            self.counts["acknowledged"] += 1
        level, r = item.override_level or item.level, self.rng
        if item.kind == "triage" and r.random() < 0.07:
            if level == "yellow" and r.random() < 0.4:
                worklist.override(item_id, who, "red", RAISE)
                level = "red"
            else:
                lower = "yellow" if level == "red" else "green"
                worklist.override(item_id, who, lower, LOWER[lower])
                level = lower
            self.counts["overridden"] += 1
        wait = r.uniform(1, 8) if level == "red" else r.uniform(2, 72)
        self.pending.add(item_id)
        self.at(_working(clock.now() + wait * HOUR), partial(self._resolve, item_id, who))

    def _resolve(self, item_id: str, who: Clinician | None = None) -> None:
        """Resolve with the contact that happened; a green item (``who`` None) only while
        it is still green: one that rose is reviewed first."""
        self.pending.discard(item_id)
        item = _item_by_id(item_id)
        if item is None or item.status == "resolved":
            return
        level = item.override_level or item.level
        if who is None and level != "green":
            return
        who = who or self.rng.choice(self.staff[item.pathway_id])
        if level == "green":
            contact: str | None = "none" if self.rng.random() < 0.85 else "digital"
        else:
            wanted = (item.action or {}).get("consultation") if item.kind == "triage" else None
            contact = _draw(self.rng, CONTACTS.get(wanted, CONTACTS[None]))
        worklist.resolve(item_id, who, contact=contact)
        self.counts["resolved"] += 1


def _judge(outbox_ids: list[int]) -> None:
    """The worker's job, run here at once: judged as of the clock's time."""
    for outbox_id in outbox_ids:
        triage_outbox(outbox_id)


def _item_by_id(item_id: str) -> WorklistItem | None:
    with session_scope() as session:
        return session.get(WorklistItem, item_id)


def _draw(rng: random.Random, choices: tuple[tuple[Any, float], ...]) -> Any:
    roll, total = rng.random(), 0.0
    for value, weight in choices:
        total += weight
        if roll < total:
            return value
    return choices[-1][0]


def _working(when: dt.datetime) -> dt.datetime:
    """The time itself on a weekday 07:00-15:00 UTC (Oslo office hours), else the next
    weekday at 07:00 plus a little."""
    if when.weekday() < 5 and 7 <= when.hour < 15:
        return when
    day = when.replace(hour=7, minute=0, second=0, microsecond=0)
    if when.hour >= 7:
        day += DAY
    while day.weekday() >= 5:
        day += DAY
    return day + dt.timedelta(minutes=(when.minute * 7) % 120)


def _on_call(when: dt.datetime) -> dt.datetime:
    """Red is seen 07:00-20:00 UTC every day (the on-call clinician), else next morning."""
    if 7 <= when.hour < 20:
        return when
    day = when.replace(hour=7, minute=0, second=0, microsecond=0)
    return day + DAY if when.hour >= 20 else day
