"""The pathway as the engine holds it after loading: checked, typed and compiled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from triage.durations import Duration
from triage.expressions import CompiledExpression
from triage.levels import Consultation, Level
from triage.readings import Measurement

AnswerType = Literal["number", "boolean", "text", "date", "code", "any"]
ANSWER_TYPES: tuple[str, ...] = ("number", "boolean", "text", "date", "code")

WindowForm = Literal[
    "newest",
    "mean",
    "min",
    "max",
    "count",
    "change",
    "percent_below",
    "percent_above",
    "percent_between",
]
SIMPLE_WINDOWS: tuple[str, ...] = ("mean", "min", "max", "count", "change")
PERCENT_WINDOWS: tuple[str, ...] = ("percent_below", "percent_above", "percent_between")


@dataclass(frozen=True, slots=True)
class Threshold:
    """A number clinic staff tune; ``tunable`` when it has min/max for per-patient values."""

    name: str
    value: Decimal
    min: Decimal | None
    max: Decimal | None
    doc: str | None
    line: int

    @property
    def tunable(self) -> bool:
        return self.min is not None and self.max is not None


@dataclass(frozen=True, slots=True)
class AnswerInput:
    """An input read from a questionnaire answer by linkId."""

    name: str
    link_id: str
    type: AnswerType
    scores: dict[str, Decimal] | None
    required: bool
    line: int

    def describe(self) -> str:
        return f"answer {self.link_id}"


@dataclass(frozen=True, slots=True)
class ObservationInput:
    """An input read from device readings: the newest one, or a summary over a window."""

    name: str
    observation: str
    form: WindowForm
    window: Duration | None
    value: Decimal | None = None  # percent_below / percent_above
    low: Decimal | None = None  # percent_between
    high: Decimal | None = None
    required: bool = False
    line: int = 0

    def describe(self) -> str:
        if self.form == "newest":
            return f"newest {self.observation}"
        if self.form == "percent_between":
            return f"% of {self.observation} in {self.low}-{self.high} over {self.window}"
        if self.form in ("percent_below", "percent_above"):
            word = "below" if self.form == "percent_below" else "above"
            return f"% of {self.observation} {word} {self.value} over {self.window}"
        return f"{self.form} of {self.observation} over {self.window}"


Input = AnswerInput | ObservationInput


@dataclass(frozen=True, slots=True)
class Derived:
    name: str
    expression: CompiledExpression
    line: int


@dataclass(frozen=True, slots=True)
class Action:
    """What to do: how to contact the patient and within how long of the data."""

    consultation: Consultation
    within: Duration | None

    def urgency_key(self) -> tuple[float, int]:
        """Smaller is more urgent: the shortest deadline, then the more demanding contact."""
        days = self.within.approx_timedelta().total_seconds() if self.within else float("inf")
        return days, -int(self.consultation)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"consultation": self.consultation.label}
        if self.within is not None:
            out["within"] = self.within.text
        return out


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    when: CompiledExpression
    level: Level
    say: str | None
    action: Action | None
    patient_message: str | None
    line: int
    order: int


@dataclass(frozen=True, slots=True)
class Otherwise:
    level: Level = Level.GREEN
    action: Action | None = None
    patient_message: str | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a new response is expected (``every``), when a missing one turns yellow
    (``overdue_after``), and when the patient is reminded (``remind_after``: ascending
    durations after the due time, each before ``overdue_after`` when that is set)."""

    every: Duration
    overdue_after: Duration | None
    remind_after: tuple[Duration, ...] = ()


@dataclass(frozen=True, slots=True)
class ObservationRoute:
    """Where a device code goes: the input name and the unit the pathway wants it in."""

    name: str
    unit: str
    analyte: str | None
    line: int


@dataclass(frozen=True, slots=True)
class SampleReading:
    value: Decimal
    at: dt.datetime | None  # None: "one per hour up to now"


@dataclass(frozen=True, slots=True)
class PathwayTest:
    name: str
    answers: dict[str, Any]
    observations: dict[str, list[SampleReading]]
    thresholds: dict[str, Decimal]
    expect: Level
    expect_rules: tuple[str, ...]
    now: dt.datetime | None
    line: int


@dataclass(frozen=True)
class Pathway:
    """A loaded, checked pathway file. Build it with :func:`triage.load_pathway`."""

    id: str
    title: str
    version: int
    sha256: str
    source: str
    owner: str | None
    description: str | None
    language: str
    questionnaires: tuple[str, ...]
    routes: dict[tuple[str | None, str], ObservationRoute]
    component_routes: dict[str, ObservationRoute]
    observation_units: dict[str, str]
    schedule: Schedule | None
    thresholds: dict[str, Threshold]
    inputs: dict[str, Input]
    derived: dict[str, Derived]
    rules: tuple[Rule, ...]
    otherwise: Otherwise
    tests: tuple[PathwayTest, ...]
    types: dict[str, Any] = field(repr=False, default_factory=dict)  # name -> engine type
    text: str = field(repr=False, default="")

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)

    def reads_questionnaire(self, url: str) -> bool:
        """True when a response to ``url`` (any ``|version`` suffix ignored) is for this one."""
        return url.split("|", 1)[0] in self.questionnaires

    def route_for(self, code: str, panel: str | None = None) -> ObservationRoute | None:
        """The route of a device code, or ``None`` when this pathway does not read it."""
        if panel is not None:
            route = self.routes.get((panel, code))
            if route is not None:
                return route
        # A systolic value sent on its own means the same as one inside a BP panel.
        return self.routes.get((None, code)) or self.component_routes.get(code)

    def route_of(self, measurement: Measurement) -> ObservationRoute | None:
        """The route of a measurement by ANY of its codings (and its panel's), first codings
        first; ``None`` when this pathway reads none of them."""
        return self.route_for_codes(measurement.codes, measurement.panels)

    def route_for_codes(
        self, codes: Sequence[str], panels: Sequence[str | None] = (None,)
    ) -> ObservationRoute | None:
        """The route of a value coded ``codes`` (in a panel coded ``panels``), or ``None``."""
        for code in codes:
            for panel in panels:
                route = self.route_for(code, panel)
                if route is not None:
                    return route
        return None

    def default_thresholds(self) -> dict[str, Decimal]:
        return {name: t.value for name, t in self.thresholds.items()}
