"""Overrides per rule (docs/statistics.md) on a hand-made history, on both databases: each
override counts for the rules fired by the newest result the worker put on the item before
it, raised or lowered against the engine's level; beside it, how often each rule fired.

- Item A: opened red by A's result of 5 Jan (fired much-pain and fever); overridden to
  yellow 6 Jan (lowered); A's result of 20 Jan (fever only) reaches it; overridden to green
  21 Jan (lowered). A's green result of 25 Jan fires no rule: "(otherwise)".
- Item B: opened green by B's result of 10 Jan (no rule fired); raised to yellow 11 Jan.
  B's red result of 28 Jan (much-pain) is never overridden.
- Item C: opened red by C's result of 3 Feb (much-pain); a withdrawn red result of 4 Feb
  counts nowhere (its note names no result), nor does the overdue flag of 20 Feb; overridden to
  green 2 March (lowered, counted in March, where much-pain did not fire).
"""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from store.db import session_scope
from store.models import WorklistEvent
from tests.conftest import Service
from tests.integration.api_rows import add_item, add_patient, unique
from tests.integration.stats_rows import column, stats, upload, utc


def event(item: str, at: dt.datetime, actor: str, change: str, level: str, **more: object) -> None:
    engine = more.pop("engine", None)
    detail = {"engine_level": engine, "reason": "klinisk vurdering"} if engine else {}
    with session_scope() as session:
        session.add(
            WorklistEvent(
                item_id=item,
                at=at,
                actor=actor,
                change=change,
                level=level,
                detail=detail,
                result_id=more.get("result"),  # type: ignore[arg-type]
            )
        )


@pytest.fixture(scope="module")
def history(service: Service) -> str:
    p = unique("ovr")
    a, b, c = (add_patient() for _ in range(3))

    def judged(patient: str, at: dt.datetime, level: str, *fired: str, **kw: bool) -> str:
        kind = "QuestionnaireResponse"
        return upload(patient, p, kind, at, level, fired=list(fired), **kw)[1]  # type: ignore[arg-type]

    a1 = judged(a, utc(1, 5), "red", "much-pain", "fever")
    a2 = judged(a, utc(1, 20), "yellow", "fever")
    judged(a, utc(1, 25), "green")
    b1 = judged(b, utc(1, 10), "green")
    judged(b, utc(1, 28), "red", "much-pain")
    c1 = judged(c, utc(2, 3), "red", "much-pain")
    judged(c, utc(2, 4), "red", "much-pain", withdrawn=True)

    item_a = add_item(a, p, "red", None, "open", created=utc(1, 5))
    event(item_a, utc(1, 5), "triage", "created", "red", result=a1)
    event(item_a, utc(1, 6), "dr-a", "override", "yellow", engine="red")
    event(item_a, utc(1, 20), "triage", "updated", "red", result=a2)
    event(item_a, utc(1, 21), "dr-a", "override", "green", engine="red")
    item_b = add_item(b, p, "green", None, "open", created=utc(1, 10))
    event(item_b, utc(1, 10), "triage", "created", "green", result=b1)
    event(item_b, utc(1, 11), "dr-b", "override", "yellow", engine="green")
    item_c = add_item(c, p, "red", None, "open", created=utc(2, 3))
    event(item_c, utc(2, 3), "triage", "created", "red", result=c1)
    event(item_c, utc(2, 4), "triage", "noted", "red")  # the withdrawal noted: no result
    event(item_c, utc(2, 20), "triage", "raised", "red")  # the overdue flag: no result
    event(item_c, utc(3, 2), "dr-c", "override", "green", engine="red")
    return p


def test_overrides_per_rule_with_direction(client: TestClient, history: str) -> None:
    found = column(stats(client, history), "overrides")

    def rule(fired: int, overrides: int, raised: int, lowered: int) -> dict[str, object]:
        share = round(overrides / fired, 4) if fired else None
        return {
            "fired": fired,
            "overrides": overrides,
            "raised": raised,
            "lowered": lowered,
            "share": share,
        }

    # Jan: much-pain fired on A 5 Jan and B 28 Jan (2), overridden once (A, 6 Jan,
    # lowered). fever fired on A 5 and 20 Jan (2), overridden twice (6 Jan: the newest
    # result was 5 Jan's; 21 Jan: 20 Jan's), both lowered. No rule fired on B 10 Jan and
    # A 25 Jan (2); B's item was raised once.
    assert found[0] == {
        "(otherwise)": rule(2, 1, 1, 0),
        "fever": rule(2, 2, 0, 2),
        "much-pain": rule(2, 1, 0, 1),
    }
    # Feb: much-pain fired on C 3 Feb; C's 4 Feb result is withdrawn. No override.
    assert found[1] == {"much-pain": rule(1, 0, 0, 0)}
    # Mar: C's item lowered 2 March; the newest result on it is 3 Feb's (much-pain): the
    # note of the withdrawal and the overdue flag name no result.
    assert found[2] == {"much-pain": rule(0, 1, 0, 1)}
    assert found[3] == {}
