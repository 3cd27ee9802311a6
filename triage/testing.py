"""Running a pathway file's embedded tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from triage.engine import ThresholdError, evaluate
from triage.levels import Level
from triage.model import Pathway, PathwayTest, SampleReading
from triage.readings import Reading
from triage.result import Result

__all__ = ["TestOutcome", "run_pathway_tests", "sample_readings"]


@dataclass(frozen=True)
class TestOutcome:
    """One embedded test: what was expected, what the engine gave, and whether they agree."""

    __test__ = False  # not a pytest test class

    test: PathwayTest
    result: Result | None
    problem: str | None = None

    @property
    def got(self) -> Level | None:
        return self.result.level if self.result else None

    @property
    def fired(self) -> tuple[str, ...]:
        return self.result.fired if self.result else ()

    @property
    def missing_rules(self) -> tuple[str, ...]:
        return tuple(r for r in self.test.expect_rules if r not in self.fired)

    @property
    def passed(self) -> bool:
        return self.problem is None and self.got == self.test.expect and not self.missing_rules


def embedded_test_now(test: PathwayTest, clock: dt.datetime | None = None) -> dt.datetime:
    """The test's 'now': its own ``now``, else the clock, but never before its latest reading."""
    if test.now is not None:
        return test.now
    now = (clock or dt.datetime.now(dt.UTC)).replace(minute=0, second=0, microsecond=0)
    latest = [r.at for rs in test.observations.values() for r in rs if r.at is not None]
    return max([now, *latest])


def sample_readings(
    observations: Mapping[str, list[SampleReading]], pathway: Pathway, now: dt.datetime
) -> list[Reading]:
    """Test observations as readings: plain numbers are one per hour, the last at ``now``."""
    out: list[Reading] = []
    for name, samples in observations.items():
        unit = pathway.observation_units[name]
        hourly = [s for s in samples if s.at is None]
        for position, sample in enumerate(hourly):
            at = now - dt.timedelta(hours=len(hourly) - 1 - position)
            out.append(Reading(name, float(sample.value), unit, at))
        out.extend(Reading(name, float(s.value), unit, s.at) for s in samples if s.at is not None)
    return out


def run_pathway_tests(pathway: Pathway, clock: dt.datetime | None = None) -> list[TestOutcome]:
    """Run every embedded test of ``pathway``; never raises for a failing test."""
    outcomes: list[TestOutcome] = []
    for test in pathway.tests:
        now = embedded_test_now(test, clock)
        try:
            result = evaluate(
                pathway,
                answers=test.answers,
                readings=sample_readings(test.observations, pathway, now),
                thresholds=test.thresholds,
                now=now,
            )
        except ThresholdError as exc:
            outcomes.append(TestOutcome(test, None, str(exc)))
            continue
        outcomes.append(TestOutcome(test, result))
    return outcomes
