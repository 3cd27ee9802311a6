"""The patient form's reading of a Questionnaire: enableWhen, required, types and ranges,
and the QuestionnaireResponse items nested like the Questionnaire."""

from __future__ import annotations

from tests.form_samples import SYSTEM, every_type
from usecases.patient_form.answers import REQUIRED, read_answers, response_items
from usecases.patient_form.items import Item, parse_items, walk


def fields(items: list[Item], **answers: str) -> dict[str, str]:
    by_link = {item.link_id.replace("-", "_"): item.field_id for item in walk(items)}
    return {by_link[key]: value for key, value in answers.items()}


def ids(items: list[Item]) -> dict[str, str]:
    return {item.link_id: item.field_id for item in walk(items)}


ITEMS = parse_items(every_type())
F = ids(ITEMS)


def test_required_items_are_asked_for_and_disabled_ones_are_not() -> None:
    got = read_answers(ITEMS, fields(ITEMS, fever="false"))
    assert got.errors == {F["pain"]: REQUIRED}  # fever-days is off: fever is "no"
    got = read_answers(ITEMS, fields(ITEMS, pain="2", fever="true"))
    assert got.errors == {F["fever-days"]: REQUIRED}


def test_types_and_ranges_are_checked_with_norwegian_input() -> None:
    got = read_answers(
        ITEMS, fields(ITEMS, pain="11", weight="seventy", fever="maybe", last_visit="31.02.2024")
    )
    assert got.errors == {
        F["pain"]: "Tallet må være høyst 10.",
        F["weight"]: "Skriv et tall, for eksempel 2,5.",
        F["fever"]: "Velg ja eller nei.",
        F["last-visit"]: "Skriv en dato, for eksempel 31.12.2024.",
    }
    assert got.raw[F["weight"]] == "seventy"  # shown again as typed
    good = read_answers(
        ITEMS, fields(ITEMS, pain="0", weight="71,5", fever="false", last_visit="1.2.2024")
    )
    assert good.errors == {}
    assert str(good.values["weight"]) == "71.5"
    assert good.values["last-visit"].isoformat() == "2024-02-01"  # type: ignore[union-attr]


def test_enable_when_operators_and_behaviours() -> None:
    def on(**answers: str) -> set[str]:
        enabled = read_answers(ITEMS, fields(ITEMS, **answers)).enabled
        return {link for link, field in F.items() if field in enabled}

    base = {"pain": "2", "fever": "false"}
    assert "mood-note" not in on(**base, mood="0")  # != good fails, pain < 0 fails: any
    assert "mood-note" in on(**base, mood="1")  # != good holds
    assert "mood-note" not in on(**base)  # no answer: != does not hold
    assert "help-hours" not in on(**base, help="datter")  # exists, but pain >= 3 fails: all
    assert "help-hours" in on(pain="3", fever="false", help="datter")
    assert "help-hours" not in on(pain="3", fever="false")


def test_answers_of_disabled_items_are_dropped() -> None:
    got = read_answers(
        ITEMS, fields(ITEMS, pain="2", fever="false", fever_days="x", mood_note="hei")
    )
    assert got.errors == {}
    assert "fever-days" not in got.values and "mood-note" not in got.values


def test_the_response_is_nested_like_the_questionnaire() -> None:
    got = read_answers(
        ITEMS,
        fields(
            ITEMS, pain="4", fever="true", fever_days="2", mood="1", help="datter", help_hours="2,5"
        ),
    )
    assert got.errors == {}
    items = response_items(ITEMS, got)
    assert [i["linkId"] for i in items] == ["pain", "fever", "fever-days", "mood", "home"]
    assert items[0]["answer"] == [{"valueInteger": 4}]
    assert items[1]["answer"] == [{"valueBoolean": True}]
    assert items[3]["answer"] == [
        {"valueCoding": {"system": SYSTEM, "code": "low", "display": "Nedstemt"}}
    ]
    home = items[4]
    assert [i["linkId"] for i in home["item"]] == ["help", "help-hours"]
    assert home["item"][1]["answer"] == [{"valueDecimal": 2.5}]


def test_conditions_are_described_for_a_browser_without_script() -> None:
    by_link = {item.link_id: item for item in walk(ITEMS)}
    assert by_link["fever-days"].condition_text == (
        "Svar bare hvis svaret på «Har du hatt feber?» er «ja»."
    )
    assert " eller " in by_link["mood-note"].condition_text
