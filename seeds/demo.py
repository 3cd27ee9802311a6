"""The demo: ~25 synthetic patients across every pathway in ``rules/``, with a realistic
mix of questionnaire answers and device readings over the last weeks, so that the
worklist shows red, yellow and green at once (and an overdue and an unrouted case).

Deterministic: the same ``seed`` gives the same patients and values; times are relative
to ``now``. Each patient says which level the newest data should give in each pathway
(``expect``), and the unit tests check that with the engine itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from seeds import devices, forms
from seeds import questionnaires as q
from seeds.builder import Builder, DemoPatient

__all__ = ["SEED", "Demo", "DemoPatient", "generate"]

SEED = 20261120


@dataclass
class Demo:
    now: dt.datetime
    questionnaires: list[dict[str, Any]]
    patients: list[DemoPatient]


def generate(now: dt.datetime | None = None, seed: int = SEED) -> Demo:
    """The whole demo, with times relative to ``now`` (default: the current time)."""
    builder = Builder(now or dt.datetime.now(dt.UTC), seed)
    forms.questionnaire_patients(builder)
    forms.copd_patients(builder)
    devices.cgm_patients(builder)
    devices.heart_patients(builder)
    return Demo(builder.now, q.questionnaires(), builder.patients)
