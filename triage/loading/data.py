"""Reading the data sections of a pathway file: applies_to, schedule, thresholds, inputs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from triage.loading.context import FileContext, closest
from triage.model import (
    ANSWER_TYPES,
    PERCENT_WINDOWS,
    SIMPLE_WINDOWS,
    AnswerInput,
    Input,
    ObservationInput,
    ObservationRoute,
    Threshold,
    WindowForm,
)
from triage.units import UnitError, analyte_for, normalize_unit
from triage.yamlfile import item_pos, key_pos, value_pos

RouteKey = tuple[str | None, str]


class Routes:
    """The device codes a pathway reads, each to an input name in one unit."""

    def __init__(self) -> None:
        self.routes: dict[RouteKey, ObservationRoute] = {}
        self.units: dict[str, tuple[str, int]] = {}  # name -> (unit, line)
        self.components: dict[str, ObservationRoute] = {}  # component code, any panel


def read_applies_to(ctx: FileContext, doc: dict[Any, Any]) -> tuple[tuple[str, ...], Routes]:
    routes = Routes()
    if not ctx.require(doc, "applies_to", "the file", "applies_to: {questionnaires: [URL]}"):
        return (), routes
    node = ctx.mapping(doc["applies_to"], "applies_to", value_pos(doc, "applies_to"))
    if node is None:
        return (), routes
    ctx.keys(node, ("questionnaires", "observations"), "applies_to")
    questionnaires: list[str] = []
    if node.get("questionnaires") is not None:
        seq = ctx.seq(
            node["questionnaires"], "applies_to › questionnaires", value_pos(node, "questionnaires")
        )
        for i, url in enumerate(seq or []):
            if isinstance(url, str) and url.strip():
                questionnaires.append(url.strip().split("|", 1)[0])
            else:
                ctx.problem(
                    item_pos(seq, i),
                    "not-text",
                    where="applies_to › questionnaires",
                    got="empty" if url is None else type(url).__name__,
                )
    if node.get("observations") is not None:
        seq = ctx.seq(
            node["observations"], "applies_to › observations", value_pos(node, "observations")
        )
        for i, entry in enumerate(seq or []):
            _read_route(ctx, entry, item_pos(seq, i), routes)
    if not questionnaires and not routes.units:
        ctx.problem(key_pos(doc, "applies_to"), "nothing-applies")
    return tuple(questionnaires), routes


def _code(ctx: FileContext, node: dict[Any, Any], key: str, pos: tuple[int, int]) -> str | None:
    value = node.get(key)
    if isinstance(value, str) and "|" in value and all(value.split("|", 1)):
        return value.strip()
    ctx.problem(pos, "bad-code", value=value)
    return None


def _read_route(ctx: FileContext, entry: Any, pos: tuple[int, int], routes: Routes) -> None:
    where = "applies_to › observations"
    node = ctx.mapping(entry, where, pos)
    if node is None or not ctx.require(node, "code", where, 'code: "http://loinc.org|29463-7"'):
        return
    ctx.keys(node, ("code", "as", "unit", "components"), where)
    code = _code(ctx, node, "code", value_pos(node, "code"))
    if code is None:
        return
    if node.get("components") is not None:
        comps = ctx.mapping(
            node["components"], f"{where} › components", value_pos(node, "components")
        )
        for comp_code, comp in (comps or {}).items():
            cpos = key_pos(comps, comp_code)
            comp_node = ctx.mapping(comp, f"{where} › components", cpos)
            if comp_node is None:
                continue
            if not isinstance(comp_code, str) or "|" not in comp_code:
                ctx.problem(cpos, "bad-code", value=comp_code)
                continue
            _add_route(ctx, comp_node, (code, comp_code), comp_code, routes, cpos)
        return
    if ctx.require(node, "as", where, "as: weight"):
        _add_route(ctx, node, (None, code), code, routes, pos)


def _add_route(
    ctx: FileContext,
    node: dict[Any, Any],
    key: RouteKey,
    code: str,
    routes: Routes,
    pos: tuple[int, int],
) -> None:
    where = "applies_to › observations"
    ctx.keys(node, ("as", "unit") if key[0] else ("code", "as", "unit", "components"), where)
    if not ctx.require(node, "as", where, "as: weight") or not ctx.require(
        node, "unit", where, "unit: kg"
    ):
        return
    name = node["as"]
    if not ctx.name_ok(name, value_pos(node, "as")):
        return
    try:
        unit = normalize_unit(str(node["unit"]))
    except UnitError as exc:
        ctx.problem(value_pos(node, "unit"), "unknown-unit", detail=str(exc), value=node["unit"])
        # Still declare the name (the file is refused anyway), so that the inputs, rules
        # and tests that read it are not each reported as a second, misleading problem.
        routes.units.setdefault(name, (str(node["unit"]), pos[0]))
        return
    line = pos[0]
    if key in routes.routes:
        ctx.problem(pos, "route-twice", code=code, first_line=routes.routes[key].line)
        return
    if name in routes.units and routes.units[name][0] != unit:
        first_unit, first_line = routes.units[name]
        ctx.problem(
            value_pos(node, "unit"),
            "route-unit-conflict",
            name=name,
            unit=unit,
            first_unit=first_unit,
            first_line=first_line,
        )
        return
    route = ObservationRoute(name=name, unit=unit, analyte=analyte_for(code), line=line)
    routes.routes[key] = route
    routes.units.setdefault(name, (unit, line))
    if key[0] is not None:
        routes.components.setdefault(code, route)


def read_thresholds(ctx: FileContext, doc: dict[Any, Any]) -> dict[str, Threshold]:
    out: dict[str, Threshold] = {}
    if doc.get("thresholds") is None:
        return out
    node = ctx.mapping(doc["thresholds"], "thresholds", value_pos(doc, "thresholds"))
    for name, raw in (node or {}).items():
        pos = key_pos(node, name)
        if not ctx.name_ok(name, pos):
            continue
        where = f"thresholds › {name}"
        if isinstance(raw, dict):
            ctx.keys(raw, ("value", "min", "max", "doc"), where)
            if not ctx.require(raw, "value", where, "value: 3"):
                continue
            value = ctx.number(raw, "value", f"{where} › value")
            low = ctx.number(raw, "min", f"{where} › min") if "min" in raw else None
            high = ctx.number(raw, "max", f"{where} › max") if "max" in raw else None
            doc_text = ctx.text(raw, "doc", f"{where} › doc")
            if value is None or ("min" in raw and low is None) or ("max" in raw and high is None):
                continue
            if (low is None) != (high is None):
                ctx.problem(
                    pos, "threshold-half-bounds", name=name, has="min" if low is not None else "max"
                )
            elif low is not None and high is not None:
                if low > high:
                    ctx.problem(
                        value_pos(raw, "min"),
                        "threshold-min-above-max",
                        name=name,
                        min=low,
                        max=high,
                    )
                elif not low <= value <= high:
                    ctx.problem(
                        value_pos(raw, "value"),
                        "threshold-outside-bounds",
                        name=name,
                        value=value,
                        min=low,
                        max=high,
                    )
            out[name] = Threshold(name, value, low, high, doc_text, pos[0])
        else:
            value = ctx.number(node, name, where)
            if value is not None:
                out[name] = Threshold(name, value, None, None, None, pos[0])
    return out


_INPUT_KEYS = (
    "answer",
    "observation",
    "required",
    "scores",
    "type",
    *SIMPLE_WINDOWS,
    *PERCENT_WINDOWS,
)


def read_inputs(ctx: FileContext, doc: dict[Any, Any], routes: Routes) -> dict[str, Input]:
    out: dict[str, Input] = {}
    if doc.get("inputs") is None:
        return out
    node = ctx.mapping(doc["inputs"], "inputs", value_pos(doc, "inputs"))
    for name, raw in (node or {}).items():
        pos = key_pos(node, name)
        if not ctx.name_ok(name, pos):
            continue
        where = f"inputs › {name}"
        spec = ctx.mapping(raw, where, value_pos(node, name))
        if spec is None:
            continue
        ctx.keys(spec, _INPUT_KEYS, where)
        if ("answer" in spec) == ("observation" in spec):
            ctx.problem(pos, "input-form", name=name)
            continue
        required = ctx.boolean(spec, "required", f"{where} › required")
        made = (_answer_input if "answer" in spec else _observation_input)(
            ctx, spec, name, where, required, pos[0], routes
        )
        if made is not None:
            out[name] = made
    return out


def _answer_input(
    ctx: FileContext,
    spec: dict[Any, Any],
    name: str,
    where: str,
    required: bool,
    line: int,
    routes: Routes,
) -> Input | None:
    link_id = ctx.text(spec, "answer", f"{where} › answer")
    for form in (*SIMPLE_WINDOWS, *PERCENT_WINDOWS):
        if form in spec:
            ctx.problem(
                key_pos(spec, form),
                "unknown-key",
                key=form,
                where=where,
                close=None,
                known="answer, required, scores, type",
            )
    scores: dict[str, Decimal] | None = None
    if spec.get("scores") is not None:
        raw = ctx.mapping(spec["scores"], f"{where} › scores", value_pos(spec, "scores"))
        scores = {}
        for code in raw or {}:
            number = ctx.number(raw, code, f"{where} › scores › {code}")
            if number is not None:
                scores[str(code)] = number
    answer_type = "number" if scores is not None else "any"
    if spec.get("type") is not None:
        declared = spec["type"]
        if declared not in ANSWER_TYPES:
            ctx.problem(
                value_pos(spec, "type"),
                "unknown-answer-type",
                value=declared,
                close=closest(str(declared), ANSWER_TYPES),
                known=", ".join(ANSWER_TYPES),
            )
        elif scores is None:
            answer_type = declared
    if not link_id:
        return None
    return AnswerInput(name, link_id, answer_type, scores, required, line)  # type: ignore[arg-type]


def _observation_input(
    ctx: FileContext,
    spec: dict[Any, Any],
    name: str,
    where: str,
    required: bool,
    line: int,
    routes: Routes,
) -> Input | None:
    observation = spec.get("observation")
    if "scores" in spec:
        ctx.problem(key_pos(spec, "scores"), "scores-on-non-answer", name=name)
    if observation not in routes.units:
        ctx.problem(
            value_pos(spec, "observation"),
            "unknown-observation",
            name=observation,
            close=closest(str(observation), routes.units),
            known=", ".join(routes.units) or "-",
        )
        return None
    forms = [f for f in (*SIMPLE_WINDOWS, *PERCENT_WINDOWS) if f in spec]
    if len(forms) > 1:
        ctx.problem(key_pos(spec, forms[1]), "several-windows", name=name, forms=", ".join(forms))
        return None
    if not forms:
        return ObservationInput(name, observation, "newest", None, required=required, line=line)
    form = forms[0]
    if form in SIMPLE_WINDOWS:
        window = ctx.duration(spec, form)
        if window is None:
            return None
        return ObservationInput(
            name, observation, cast(WindowForm, form), window, required=required, line=line
        )
    fwhere = f"{where} › {form}"
    raw = ctx.mapping(spec[form], fwhere, value_pos(spec, form))
    if raw is None:
        return None
    numbers = ("low", "high") if form == "percent_between" else ("value",)
    ctx.keys(raw, (*numbers, "over"), fwhere)
    example = (
        "{low: 3.9, high: 10.0, over: P14D}"
        if form == "percent_between"
        else ("{value: 3.9, over: P14D}")
    )
    if not all(ctx.require(raw, key, fwhere, example) for key in (*numbers, "over")):
        return None
    values = [ctx.number(raw, key, f"{fwhere} › {key}") for key in numbers]
    window = ctx.duration(raw, "over")
    if window is None or any(v is None for v in values):
        return None
    if form == "percent_between":
        return ObservationInput(
            name,
            observation,
            "percent_between",
            window,
            low=values[0],
            high=values[1],
            required=required,
            line=line,
        )
    return ObservationInput(
        name,
        observation,
        cast(WindowForm, form),
        window,
        value=values[0],
        required=required,
        line=line,
    )
