"""The safety model's own record of one patient's example, and what must hold over it after
every step (tests/model/machine.py takes the steps):

- every accepted upload has one result per pathway that reads it, judged as of its own time
  at the level the engine gives over the data there was when it was judged (or it is shown
  as unrouted); every re-judgement likewise, with the version that made it;
- an upload whose own judgement is red leaves a red item until a clinician resolves it;
- an open item holds the worst result since it opened, and shows the newest data beside it.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from hypothesis.stateful import RuleBasedStateMachine, invariant
from sqlmodel import col, select

from store.db import session_scope
from store.models import Outbox, Resource, ResourceVersion, TriageResult, WorklistItem
from store.pathways import compiled, version_row
from tests.model.oracle import Upload, Version, has_data, judged_levels, own_time, reads
from triage import Level, Pathway


@dataclass
class Clinician:
    """What a clinician did to a pathway's item, by step."""

    resolved: int = -1  # the step of the last resolve


@dataclass
class Plan:
    patient: str
    pathways: dict[str, dict[str, Any]]  # enrolled pathway -> the patient's thresholds
    kinds: tuple[str, ...]
    forms: tuple[str, ...]
    history: list[tuple[int, dict[str, dict[str, Any]]]] = field(default_factory=list)


class RecordedMachine(RuleBasedStateMachine):
    """What the model did, step by step, and the invariants it holds the service to; the
    steps themselves are SafetyMachine's rules."""

    def __init__(self) -> None:
        super().__init__()
        self.step = 0
        self.now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        self.uploads: list[Upload] = []
        self.results: dict[str, int] = {}  # result id -> the step it was made in
        self.clinician: dict[str, Clinician] = {}
        self.open_before: dict[tuple[int, str], bool] = {}
        self.plan: Plan | None = None
        self.patient_token: dict[str, str] = {}

    # --- what must hold -----------------------------------------------------------------

    def _open_items(self) -> dict[str, WorklistItem]:
        if self.plan is None:
            return {}
        with session_scope() as session:
            rows = session.exec(
                select(WorklistItem).where(
                    col(WorklistItem.patient_id) == self.plan.patient,
                    col(WorklistItem.open_key).is_not(None),
                )
            ).all()
        return {row.pathway_id: row for row in rows}

    def _settle(self) -> None:
        """Wait until the worker has done every outbox row (this patient's and re-judges)."""
        deadline = time.monotonic() + 90
        while True:
            with session_scope() as session:
                waiting = session.exec(
                    select(Outbox.id).where(col(Outbox.done_at).is_(None)).limit(1)
                ).first()
            if waiting is None:
                return
            assert time.monotonic() < deadline, "the worker did not finish within 90 s"
            time.sleep(0.05)

    def _thresholds(self, step: int, pathway: str) -> dict[str, Any] | None:
        assert self.plan is not None
        current: dict[str, dict[str, Any]] = {}
        for at, enrolled in self.plan.history:
            if at <= step:
                current = enrolled
        return current.get(pathway)

    def _visible(self, step: int) -> list[Version]:
        return [v for u in self.uploads if (v := u.at_step(step)) is not None]

    @invariant()
    def every_upload_judged_as_of_its_own_time_and_a_red_never_vanishes(self) -> None:
        if self.plan is None:
            return
        self._settle()
        with session_scope() as session:
            results = session.exec(
                select(TriageResult).where(col(TriageResult.patient_id) == self.plan.patient)
            ).all()
            stored = {
                r.id: r
                for r in session.exec(
                    select(Resource).where(col(Resource.patient_id) == self.plan.patient)
                )
            }
            # When each version arrived (a correction's arrival replaces the row's own).
            arrived = {(r.id, r.version_id): r.received_at for r in stored.values()}
            for old in session.exec(
                select(ResourceVersion).where(col(ResourceVersion.resource_id).in_(stored))
            ):
                arrived[(old.resource_id, old.version_id)] = old.received_at
            versions = {
                (r.pathway_id, r.version): compiled(row)
                for r in results
                if (row := version_row(session, r.pathway_id, r.version)) is not None
            }
        for result in results:
            self.results.setdefault(result.id, self.step)
        by_id = {u.id: u for u in self.uploads}

        # Every result: the engine's level as of its own time, over the data there was.
        for result in results:
            step = self.results[result.id]
            pathway = versions[(result.pathway_id, result.version)]
            own = None
            if result.kind == "upload":
                upload = by_id[str(result.resource_id)]
                own = upload.versions[int(result.resource_version or 1) - 1]
                assert result.data_time == own_time(own.body), (result.id, result.data_time)
            assert result.data_time is not None
            if result.kind != "upload":  # judged as of the newest data (withdrawn aside)
                newest = max(
                    own_time(v.body)
                    for v in self._visible(step)
                    if not v.withdrawn and has_data(pathway, v.body)
                )
                assert result.data_time == newest, (result.id, result.kind, result.data_time)
            want = judged_levels(
                pathway,
                self._visible(step),
                result.data_time,
                own,
                self._thresholds(step, result.pathway_id),
            )
            assert Level.parse(result.level) in want, (
                f"result {result.id} ({result.kind}, step {step}) is {result.level}; the engine "
                f"gives {[w.label for w in want]} as of {result.data_time} with version "
                f"{result.version}: "
                f"{result.result['reasons']}"
            )

        # Every accepted upload: judged by each pathway that reads it, or shown as unrouted.
        enrolled = set(self.plan.pathways)
        for upload in self.uploads:
            version = upload.versions[-1]
            if version.withdrawn and len(upload.versions) > 1:
                continue
            mine = [
                r
                for r in results
                if r.resource_id == upload.id and r.resource_version == len(upload.versions)
            ]
            readers = {pid for pid in enrolled if reads(versions_any(versions, pid), version.body)}
            if not readers:
                assert stored[upload.id].routed is False or mine, upload.id
                continue
            assert {r.pathway_id for r in mine} >= readers, (upload.id, readers, mine)
            assert len(mine) == len({r.pathway_id for r in mine}), f"{upload.id} judged twice"

        # The worklist: a red since the last resolve keeps the item red; the item holds the
        # worst result since it opened and shows the newest data beside it.
        items = self._open_items()
        for pathway, clinician in self.clinician.items():
            since = [
                r
                for r in results
                if r.pathway_id == pathway and self.results[r.id] > clinician.resolved
            ]
            applied = [
                r
                for r in since
                if r.kind == "upload"
                or r.level != "green"
                or self.open_before.get((self.results[r.id], pathway), False)
            ]
            item = items.get(pathway)
            if any(r.level == "red" for r in since if r.kind == "upload"):
                assert item is not None and item.level == "red", (
                    f"a red upload of {pathway} since the last resolve, but the item is "
                    f"{item.level if item else 'gone'}"
                )
            if not applied:
                continue
            assert item is not None, f"{pathway}: results since the last resolve, but no item"
            worst = max(Level.parse(r.level) for r in applied)
            assert Level.parse(item.level) == worst, (pathway, item.level, worst.label)
            shown = [_shown(r, arrived) for r in applied]
            assert item.newest is not None
            assert dt.datetime.fromisoformat(item.newest["at"]) == max(shown), (
                pathway,
                item.newest,
            )


def versions_any(versions: dict[tuple[str, int], Pathway], pathway_id: str) -> Pathway:
    """Any loaded version of a pathway (routing does not change between our versions)."""
    found = [p for (pid, _), p in versions.items() if pid == pathway_id]
    if found:
        return found[-1]
    with session_scope() as session:
        row = version_row(session, pathway_id)
        assert row is not None
        return compiled(row)


def _shown(result: TriageResult, arrived: dict[tuple[str, int], dt.datetime]) -> dt.datetime:
    """The time the worklist orders a result by: its data's, never later than it arrived
    (the version it judged arrived; a re-judgement's data is there when it is made)."""
    assert result.data_time is not None
    came = result.created
    if result.kind == "upload":
        came = arrived[(str(result.resource_id), int(result.resource_version or 1))]
    return min(result.data_time, came)
