"""A stored Questionnaire as the form shows it: items with a field id, their kind, options,
ranges and ``enableWhen``; and which items are enabled by a set of answers.

Kinds shown: integer, decimal, quantity (a number in the item's unit), boolean, choice and
open-choice (``answerOption``, or the ``answerValueSet`` of a contained ValueSet: coding,
string or integer), string, text, date, group and display. Other kinds are shown as text
that takes no answer. A ``readOnly`` item is shown with its ``initial`` value, which the
response carries. An item with SDC's ``calculatedExpression`` is filled in by the form, not
the patient: the one expression understood is the sum of the answers' weights (``weight()``
or ``ordinal()`` then ``sum()``, as HL7's SDC PHQ-9 writes its total score), from the
``itemWeight`` or ``ordinalValue`` extension on each option, or the ValueSet expansion's
``itemWeight`` property (an answer without one adds
nothing, as in FHIRPath); any other expression leaves the item out rather than guess.
``enableWhen`` takes the operators exists, =, !=, >, <, >=, <= with
``enableBehavior`` all (the default) or any; an item whose condition refers to an item that
is itself disabled counts that item as unanswered, as FHIR says.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

ANSWERABLE = frozenset(
    {"integer", "decimal", "quantity", "boolean", "choice", "open-choice", "string", "text", "date"}
)
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
WEIGHTS = frozenset({ITEM_WEIGHT, "http://hl7.org/fhir/StructureDefinition/ordinalValue"})
# R5's ValueSet.expansion.contains.property in R4, as HL7's SDC PHQ-9 gives its weights
PROPERTY = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property"
)
WEIGHT_PROPERTIES = frozenset({"itemWeight", "ordinalValue", "weight"})
UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
UNIT_OPTION = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption"
_WEIGHT_SUM = re.compile(r"\.(weight|ordinal)\(\)\s*\.sum\(\)\s*$")
OPERATORS = frozenset({"exists", "=", "!=", ">", "<", ">=", "<="})
_OP_WORDS = {
    "=": "er",
    "!=": "ikke er",
    ">": "er over",
    "<": "er under",
    ">=": "er minst",
    "<=": "er høyst",
}

Answer = int | decimal.Decimal | bool | str | dt.date | dict[str, Any]


@dataclass(frozen=True)
class Option:
    value: dict[str, Any]  # the answerOption's value[x] as FHIR writes it: {"valueCoding": ..}
    display: str
    weight: decimal.Decimal | None = None  # itemWeight / ordinalValue, for a calculated sum


@dataclass(frozen=True)
class Condition:
    question: str
    operator: str
    answer: Any  # the typed value the condition compares with (a coding as a dict)
    answer_text: str


@dataclass
class Item:
    link_id: str
    kind: str
    text: str
    field_id: str
    required: bool = False
    options: list[Option] = field(default_factory=list)
    minimum: decimal.Decimal | None = None
    maximum: decimal.Decimal | None = None
    conditions: list[Condition] = field(default_factory=list)
    behavior: str = "all"
    children: list[Item] = field(default_factory=list)
    condition_text: str = ""
    read_only: bool = False
    initial: dict[str, Any] | None = None  # a read-only item's value[x], as FHIR writes it
    formula: bool = False  # it has a calculatedExpression, understood or not
    weight_sum: bool = False  # calculated: the sum of the other answers' weights
    unit: dict[str, Any] | None = None  # a quantity's unit, as a Coding

    @property
    def calculated(self) -> bool:
        return self.weight_sum

    @property
    def answerable(self) -> bool:
        """The patient answers it: a kind the form takes, neither read-only nor calculated."""
        return self.kind in ANSWERABLE and not self.read_only and not self.weight_sum

    @property
    def unit_text(self) -> str:
        return str((self.unit or {}).get("display") or (self.unit or {}).get("code") or "")

    @property
    def shown_value(self) -> str:
        """A read-only item's value, as the page shows it."""
        if not self.initial:
            return ""
        (key, value), *_ = self.initial.items()
        if key == "valueCoding":
            return str(value.get("display") or value.get("code") or "")
        if key == "valueBoolean":
            return "ja" if value else "nei"
        if key == "valueQuantity":
            return f"{value.get('value', '')} {value.get('unit') or ''}".strip()
        return str(value)


def parse_items(questionnaire: Mapping[str, Any]) -> list[Item]:
    """The Questionnaire's items, in order, nested like it."""
    texts: dict[str, str] = {}
    counter = iter(range(1, 1_000_000))
    answers = _contained_answers(questionnaire)
    items = [_item(raw, counter, texts, answers) for raw in questionnaire.get("item") or []]
    for item in walk(items):
        item.condition_text = _describe(item, texts)
    return items


def walk(items: list[Item]) -> Iterator[Item]:
    for item in items:
        yield item
        yield from walk(item.children)


def _contained_answers(questionnaire: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The answer lists of the ValueSets the Questionnaire contains, by ``#id`` (what an
    item's ``answerValueSet`` names, as HL7's SDC PHQ-9 does): each concept as an
    ``answerOption``, from the expansion when there is one, else from ``compose``."""
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in questionnaire.get("contained") or []:
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "ValueSet":
            continue
        options = [_coded(c, c) for c in (resource.get("expansion") or {}).get("contains") or []]
        if not options:
            for include in (resource.get("compose") or {}).get("include") or []:
                for concept in include.get("concept") or []:
                    options.append(_coded({"system": include.get("system"), **concept}, concept))
        found[f"#{resource.get('id')}"] = options
    return found


def _coded(coding: Mapping[str, Any], carrier: Mapping[str, Any]) -> dict[str, Any]:
    """An ``answerOption`` of a ValueSet's concept, its weight (if any) kept as FHIR does."""
    option: dict[str, Any] = {
        "valueCoding": {k: coding[k] for k in ("system", "code", "display") if k in coding}
    }
    weight = _weight(carrier)
    if weight is not None:
        option["extension"] = [{"url": ITEM_WEIGHT, "valueDecimal": float(weight)}]
    return option


def _item(
    raw: Mapping[str, Any],
    counter: Iterator[int],
    texts: dict[str, str],
    answers: dict[str, list[dict[str, Any]]],
) -> Item:
    link_id = str(raw.get("linkId") or "")
    text = str(raw.get("text") or raw.get("prefix") or link_id)
    texts[link_id] = text
    item = Item(
        link_id=link_id,
        kind=str(raw.get("type") or "display"),
        text=text,
        field_id=f"f{next(counter)}",
        required=bool(raw.get("required")),
        options=[
            o
            for o in map(
                _option, raw.get("answerOption") or answers.get(str(raw.get("answerValueSet")), [])
            )
            if o is not None
        ],
        behavior="any" if raw.get("enableBehavior") == "any" else "all",
        read_only=bool(raw.get("readOnly")),
    )
    initial = (raw.get("initial") or [None])[0]
    if isinstance(initial, Mapping):
        item.initial = {k: v for k, v in initial.items() if k.startswith("value")} or None
    for ext in raw.get("extension") or []:
        limit = _number(ext)
        url = ext.get("url")
        if url == MIN_VALUE and limit is not None:
            item.minimum = limit
        elif url == MAX_VALUE and limit is not None:
            item.maximum = limit
        elif url == CALCULATED:
            expression = str((ext.get("valueExpression") or {}).get("expression") or "")
            item.formula, item.weight_sum = True, bool(_WEIGHT_SUM.search(expression))
            item.read_only = True  # a calculated item is never the patient's to type
        elif url in (UNIT, UNIT_OPTION) and item.unit is None:
            item.unit = dict(ext.get("valueCoding") or {}) or None
    item.conditions = [c for c in map(_condition, raw.get("enableWhen") or []) if c is not None]
    item.children = [_item(child, counter, texts, answers) for child in raw.get("item") or []]
    return item


def _number(ext: Mapping[str, Any]) -> decimal.Decimal | None:
    for key in ("valueInteger", "valueDecimal"):
        if isinstance(ext.get(key), int | float | str) and not isinstance(ext.get(key), bool):
            return decimal.Decimal(str(ext[key]))
    return None


def _option(raw: Mapping[str, Any]) -> Option | None:
    if "valueCoding" in raw:
        coding = raw["valueCoding"] or {}
        display = coding.get("display") or coding.get("code") or ""
        weight = _weight(raw) if _weight(raw) is not None else _weight(coding)
        plain = {k: v for k, v in coding.items() if k != "extension"}
        return Option({"valueCoding": plain}, str(display), weight)
    for key in ("valueString", "valueInteger", "valueDate"):
        if key in raw:
            return Option({key: raw[key]}, str(raw[key]), _weight(raw))
    return None


def _weight(carrier: Mapping[str, Any]) -> decimal.Decimal | None:
    """The weight an option, a coding or a ValueSet concept carries: the ``itemWeight`` or
    ``ordinalValue`` extension, or an expansion's ``itemWeight`` property."""
    for ext in carrier.get("extension") or []:
        if ext.get("url") in WEIGHTS:
            return _number(ext)
        if ext.get("url") == PROPERTY:
            parts = {part.get("url"): part for part in ext.get("extension") or []}
            if (parts.get("code") or {}).get("valueCode") in WEIGHT_PROPERTIES:
                return _number(parts.get("value[x]") or {})
    return None


def _condition(raw: Mapping[str, Any]) -> Condition | None:
    operator = str(raw.get("operator") or "")
    question = str(raw.get("question") or "")
    if operator not in OPERATORS or not question:
        return None
    for key, value in raw.items():
        if key.startswith("answer"):
            return Condition(question, operator, _typed(key, value), _show(key, value))
    return None


def _typed(key: str, value: Any) -> Any:
    if key == "answerDecimal" or key == "answerInteger":
        return decimal.Decimal(str(value))
    if key == "answerDate":
        return dt.date.fromisoformat(str(value))
    return value


def _show(key: str, value: Any) -> str:
    if key == "answerBoolean":
        return "ja" if value else "nei"
    if key == "answerCoding":
        return str(value.get("display") or value.get("code") or "")
    return str(value).replace(".", ",") if key == "answerDecimal" else str(value)


def _describe(item: Item, texts: Mapping[str, str]) -> str:
    """In words, when the item applies: shown beside it for a browser without JavaScript."""
    parts = []
    for c in item.conditions:
        question = texts.get(c.question, c.question)
        if c.operator == "exists":
            verb = "er besvart" if c.answer else "ikke er besvart"
            parts.append(f"«{question}» {verb}")
        else:
            parts.append(f"svaret på «{question}» {_OP_WORDS[c.operator]} «{c.answer_text}»")
    if not parts:
        return ""
    joiner = " eller " if item.behavior == "any" else " og "
    return "Svar bare hvis " + joiner.join(parts) + "."


def enabled_items(items: list[Item], answers: Mapping[str, Answer]) -> set[str]:
    """The field ids of the items enabled by ``answers`` (``linkId`` -> typed answer),
    in document order, the answers of disabled items counted as absent."""
    live: dict[str, Answer] = {}
    out: set[str] = set()

    def visit(nodes: list[Item], parent_on: bool) -> None:
        for item in nodes:
            on = parent_on and _enabled(item, live)
            if on:
                out.add(item.field_id)
                if item.link_id in answers:
                    live[item.link_id] = answers[item.link_id]
            visit(item.children, on)

    visit(items, True)
    return out


def _enabled(item: Item, answers: Mapping[str, Answer]) -> bool:
    if not item.conditions:
        return True
    results = [_holds(c, answers.get(c.question)) for c in item.conditions]
    return any(results) if item.behavior == "any" else all(results)


def _holds(c: Condition, answer: Answer | None) -> bool:
    if c.operator == "exists":
        return (answer is not None) == bool(c.answer)
    if answer is None:
        return False
    if isinstance(answer, dict) or isinstance(c.answer, dict):
        if not (isinstance(answer, dict) and isinstance(c.answer, dict)):
            return False
        same = _same_coding(answer, c.answer)
        return same if c.operator == "=" else (not same if c.operator == "!=" else False)
    left: Any = (
        decimal.Decimal(answer)
        if isinstance(answer, int) and not isinstance(answer, bool)
        else answer
    )
    right: Any = c.answer
    try:
        if c.operator == "=":
            return bool(left == right)
        if c.operator == "!=":
            return bool(left != right)
        if isinstance(left, bool) or isinstance(right, bool):
            return False
        return bool(
            {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[
                c.operator
            ]
        )
    except TypeError:  # a comparison of different kinds never holds
        return False


def _same_coding(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if a.get("code") != b.get("code"):
        return False
    return not (a.get("system") and b.get("system") and a["system"] != b["system"])
