"""A QuestionnaireResponse checked against the Questionnaire it answers.

Both arguments are raw JSON objects that already passed :func:`~fhir_adapters.parse_resource`
(so every element has the right JSON kind). Checked, each problem an ``OutcomeIssue`` with
the location of the response item or answer:

- every ``linkId`` in the response exists in the Questionnaire;
- an answer's ``value[x]`` fits the item's ``type`` (``integer`` -> ``valueInteger``,
  ``choice`` -> ``valueCoding``, ``open-choice`` -> ``valueCoding`` or ``valueString``, ...);
  ``group`` and ``display`` items take no answers;
- a ``choice`` answer is one of the item's ``answerOption`` codings (by code, and by system
  when both give one); options held in a ValueSet are not expanded here;
- a ``required`` item is answered when the response is ``completed``. An item with
  ``enableWhen`` is skipped (it may rightly be hidden), and so are the children of a group
  the response does not contain.

An item answered more than once is :func:`repeated_answers`' business, which works with
or without a Questionnaire; the caller runs both checks, so neither reports it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhir_adapters.outcome import OutcomeIssue

__all__ = ["check_against_questionnaire", "questionnaire_items", "repeated_answers"]

_VALUES: dict[str, tuple[str, ...]] = {
    "boolean": ("valueBoolean",),
    "decimal": ("valueDecimal",),
    "integer": ("valueInteger",),
    "date": ("valueDate",),
    "dateTime": ("valueDateTime",),
    "time": ("valueTime",),
    "string": ("valueString",),
    "text": ("valueString",),
    "url": ("valueUri",),
    "choice": ("valueCoding",),
    "open-choice": ("valueCoding", "valueString"),
    "attachment": ("valueAttachment",),
    "reference": ("valueReference",),
    "quantity": ("valueQuantity",),
    "group": (),
    "display": (),
}


@dataclass
class _Item:
    link_id: str
    type: str
    required: bool
    repeats: bool
    conditional: bool
    options: list[tuple[str | None, str]] | None  # (system, code) of answerOption codings
    children: list[_Item] = field(default_factory=list)


def _items(raw: list[Any] | None) -> list[_Item]:
    out: list[_Item] = []
    for node in raw or []:
        options = [
            (o["valueCoding"].get("system"), o["valueCoding"]["code"])
            for o in node.get("answerOption") or []
            if isinstance(o.get("valueCoding"), dict) and o["valueCoding"].get("code")
        ]
        out.append(
            _Item(
                link_id=str(node.get("linkId", "")),
                type=str(node.get("type", "")),
                required=node.get("required") is True,
                repeats=node.get("repeats") is True,
                conditional=bool(node.get("enableWhen")),
                options=options or None,
                children=_items(node.get("item")),
            )
        )
    return out


def _index(items: list[_Item], into: dict[str, _Item]) -> dict[str, _Item]:
    for item in items:
        into.setdefault(item.link_id, item)
        _index(item.children, into)
    return into


def check_against_questionnaire(
    response: dict[str, Any], questionnaire: dict[str, Any], root: str = "QuestionnaireResponse"
) -> list[OutcomeIssue]:
    """The problems of ``response`` against ``questionnaire`` (empty when it fits)."""
    tree = _items(questionnaire.get("item"))
    known = _index(tree, {})
    issues: list[OutcomeIssue] = []
    answered: set[str] = set()
    present: set[str] = set()
    _walk(response.get("item") or [], root, known, issues, answered, present)
    if response.get("status") == "completed":
        _required(tree, answered, present, issues, f"{root}.item")
    return issues


def _walk(
    nodes: list[dict[str, Any]],
    path: str,
    known: dict[str, _Item],
    issues: list[OutcomeIssue],
    answered: set[str],
    present: set[str],
) -> None:
    for i, node in enumerate(nodes):
        where = f"{path}.item[{i}]"
        link = str(node.get("linkId", ""))
        spec = known.get(link)
        if spec is None:
            issues.append(
                OutcomeIssue(
                    "error", "value", f"linkId {link!r} is not in the questionnaire", where
                )
            )
            continue
        present.add(link)
        answers = node.get("answer") or []
        for j, answer in enumerate(answers):
            at = f"{where}.answer[{j}]"
            _answer(answer, spec, at, issues, answered)
            _walk(answer.get("item") or [], at, known, issues, answered, present)
        _walk(node.get("item") or [], where, known, issues, answered, present)


def _answer(
    answer: dict[str, Any],
    spec: _Item,
    where: str,
    issues: list[OutcomeIssue],
    answered: set[str],
) -> None:
    given = [key for key in answer if key.startswith("value")]
    if not given:
        return
    allowed = _VALUES.get(spec.type)
    if allowed is None:  # a type this check does not know: accept what was sent
        answered.add(spec.link_id)
        return
    answered.add(spec.link_id)  # a wrong answer is reported as wrong, not as missing
    if given[0] not in allowed:
        want = " or ".join(allowed) if allowed else "no answer"
        issues.append(
            OutcomeIssue(
                "error",
                "value",
                f"{spec.link_id} is of type {spec.type}: expected {want}, got {given[0]}",
                f"{where}.{given[0]}",
            )
        )
        return
    if given[0] == "valueCoding" and spec.options is not None:
        coding = answer["valueCoding"]
        code, system = coding.get("code"), coding.get("system")
        if not any(
            code == c and (system is None or s is None or system == s) for s, c in spec.options
        ):
            codes = ", ".join(c for _, c in spec.options)
            issues.append(
                OutcomeIssue(
                    "error",
                    "code-invalid",
                    f"{code!r} is not an option of {spec.link_id} (options: {codes})",
                    f"{where}.valueCoding",
                )
            )


def _required(
    items: list[_Item],
    answered: set[str],
    present: set[str],
    issues: list[OutcomeIssue],
    where: str,
) -> None:
    for item in items:
        if item.conditional:
            continue
        if item.required and item.type == "group" and item.link_id not in present:
            issues.append(
                OutcomeIssue("error", "required", f"the group {item.link_id} is required", where)
            )
        elif item.required and item.type != "display" and item.link_id not in answered:
            issues.append(
                OutcomeIssue(
                    "error", "required", f"{item.link_id} is required but not answered", where
                )
            )
        if item.link_id in present:  # children count only where their parent was given
            _required(item.children, answered, present, issues, where)


def questionnaire_items(questionnaire: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``linkId -> item`` of a raw Questionnaire, at any depth (the first item of a linkId
    wins); empty for None or for a Questionnaire without items."""
    out: dict[str, dict[str, Any]] = {}
    stack = [questionnaire] if isinstance(questionnaire, dict) else []
    while stack:
        node = stack.pop()
        link = node.get("linkId")
        if isinstance(link, str):
            out.setdefault(link, node)
        children = node.get("item")
        if isinstance(children, list):
            stack.extend(c for c in reversed(children) if isinstance(c, dict))
    return out


def repeated_answers(
    response: dict[str, Any],
    questionnaire: dict[str, Any] | None,
    root: str = "QuestionnaireResponse",
) -> list[OutcomeIssue]:
    """Items of ``response`` answered more than once, in document order.

    A linkId twice among the siblings of one item list, the same linkId again at another
    depth, or an item with several ``answer`` elements, is an ``error`` issue (code
    ``structure``) at the second occurrence (``QuestionnaireResponse.item[3]``,
    ``QuestionnaireResponse.item[2].answer[1]``), unless ``questionnaire`` marks that item
    ``repeats: true`` (the items inside a repeating group or answer may come again with it).
    Without a Questionnaire no item repeats.
    """
    items = questionnaire_items(questionnaire)
    repeating = {link for link, item in items.items() if item.get("repeats") is True}
    issues: list[OutcomeIssue] = []
    elsewhere: dict[str, str] = {}  # linkId -> where it was first answered outside repeats
    _repeats(response.get("item"), root, repeating, issues, elsewhere, False)
    return issues


def _repeats(
    nodes: Any,
    path: str,
    repeating: set[str],
    issues: list[OutcomeIssue],
    elsewhere: dict[str, str],
    inside: bool,
) -> None:
    """``inside``: under a repeating item, where the same linkIds rightly come again."""
    if not isinstance(nodes, list):
        return
    seen: set[str] = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        where = f"{path}.item[{i}]"
        link = node.get("linkId")
        link = link if isinstance(link, str) else ""
        again = link in seen  # its own issue; what is inside it is not reported again
        if again and link not in repeating:
            text = (
                f"the item {link!r} is given more than once among its siblings: send it once, "
                "or mark it repeats: true in the Questionnaire"
            )
            issues.append(OutcomeIssue("error", "structure", text, where))
        elif link and not inside and link not in repeating and link in elsewhere:
            # The same item again at another depth: one of the answers would hide the other.
            text = (
                f"the item {link!r} is given twice (also at {elsewhere[link]}): send it once, "
                "or mark it repeats: true in the Questionnaire"
            )
            issues.append(OutcomeIssue("error", "structure", text, where))
        seen.add(link)
        if link and not inside:
            elsewhere.setdefault(link, where)
        answers = node.get("answer")
        answers = answers if isinstance(answers, list) else []
        if len(answers) > 1 and link not in repeating:
            text = (
                f"the item {link!r} has {len(answers)} answers: send one answer, or mark the "
                "item repeats: true in the Questionnaire"
            )
            issues.append(OutcomeIssue("error", "structure", text, f"{where}.answer[1]"))
        below = inside or link in repeating or again
        for j, answer in enumerate(answers):
            if isinstance(answer, dict):
                at = f"{where}.answer[{j}]"
                _repeats(answer.get("item"), at, repeating, issues, elsewhere, below)
        _repeats(node.get("item"), where, repeating, issues, elsewhere, below)
