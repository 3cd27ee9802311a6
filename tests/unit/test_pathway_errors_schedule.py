"""``schedule: {every, remind_after, overdue_after}``: reminders are read onto the compiled
pathway, and each mistake in them is refused at its own line and column with what to do."""

from __future__ import annotations

import pytest
from broken_pathways import QUESTIONNAIRE, broken, line_of, only_problem

import triage

THRESHOLDS = "thresholds:\n"


def with_schedule(schedule: str) -> str:
    return broken(QUESTIONNAIRE, THRESHOLDS, f"schedule:\n{schedule}{THRESHOLDS}")


def test_reminders_are_read_in_order_onto_the_pathway() -> None:
    text = with_schedule(
        "  every: P6M\n  remind_after: [P3D, P1W, PT240H]\n  overdue_after: P14D\n"
    )
    schedule = triage.load_pathway_text(text, file="x.yaml").schedule
    assert schedule is not None
    assert [d.text for d in schedule.remind_after] == ["P3D", "P1W", "PT240H"]
    assert schedule.overdue_after is not None and schedule.overdue_after.text == "P14D"


def test_no_reminders_and_reminders_without_overdue() -> None:
    plain = triage.load_pathway_text(with_schedule("  every: P6M\n"), file="x.yaml").schedule
    assert plain is not None and plain.remind_after == ()
    text = with_schedule("  every: P6M\n  remind_after: [P3D, P2M]\n")
    loose = triage.load_pathway_text(text, file="x.yaml").schedule
    assert loose is not None and [d.text for d in loose.remind_after] == ["P3D", "P2M"]


def test_the_rules_epilepsy_file_reminds_after_three_and_seven_days() -> None:
    pathway = triage.load_pathway("rules/epilepsy.yaml")
    assert pathway.schedule is not None
    assert [d.text for d in pathway.schedule.remind_after] == ["P3D", "P7D"]


@pytest.mark.parametrize(
    ("reminders", "bad", "code", "says"),
    [
        (
            "[P7D, P3D]",
            "P3D",
            "remind-not-ascending",
            "does not come after the one before it (P7D)",
        ),
        ("[P3D, P3D]", "P3D]", "remind-not-ascending", "ascending order, each once"),
        ("[P3D, P14D]", "P14D]", "remind-after-overdue", "make it shorter than P14D"),
        ("[P3D, P1M]", "P1M", "remind-after-overdue", "not before overdue_after P14D"),
        ("[P3D, 3 days]", "3 days", "bad-duration", "P14D"),
        ("[P3D, p7d]", "p7d", "bad-duration", "P7D"),
    ],
    ids=["descending", "twice", "at-overdue", "after-overdue", "not-a-duration", "lowercase"],
)
def test_bad_reminder_is_refused_at_its_item(
    reminders: str, bad: str, code: str, says: str
) -> None:
    text = with_schedule(f"  every: P6M\n  remind_after: {reminders}\n  overdue_after: P14D\n")
    problem = only_problem(text)
    line = line_of(text, "remind_after")
    assert (problem.code, problem.line) == (code, line)
    row = text.splitlines()[line - 1]
    assert problem.col == row.index(reminders) + reminders.rindex(bad.rstrip("]")) + 1
    assert says in problem.message("en")
    assert problem.message("nb") != problem.message("en")


def test_remind_after_must_be_a_list() -> None:
    text = with_schedule("  every: P6M\n  remind_after: P3D\n")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("not-a-list", line_of(text, "remind_after"))
    assert "schedule › remind_after must be a list" in problem.message("en")


def test_misspelt_key_suggests_remind_after() -> None:
    text = with_schedule("  every: P6M\n  remind_afer: [P3D]\n")
    problem = only_problem(text)
    assert problem.code == "unknown-key"
    assert "did you mean 'remind_after'?" in problem.message("en")
