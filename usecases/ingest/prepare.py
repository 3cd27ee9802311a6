"""One incoming resource made ready to store: validated once, checked, and given its id,
``meta``, dedup key, patient, canonical url, data time and readings (internal to
:mod:`usecases.ingest.upload`). Nothing here writes to the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fhir_adapters import (
    observation_measurements,
    parse_resource,
    plausibility_problems,
    reference_id,
    repeated_values,
)
from fhir_adapters.norwegian_id import DNR_SYSTEM, FNR_SYSTEM, national_id_problem
from fhir_adapters.observation import LOCAL_TZ
from store.models import new_id, utcnow
from triage import Measurement
from usecases.errors import Refused, Why
from usecases.ingest.checks import Context, response_problems, unit_problems

INGESTED = ("Patient", "Questionnaire", "QuestionnaireResponse", "Observation")
_PREFIX = {"Patient": "p", "Questionnaire": "q", "QuestionnaireResponse": "qr", "Observation": "o"}
# Data dated further ahead than this is refused: no time zone or daylight-saving slip
# explains it, and stored it would become the "newest" value once its date came. Less far
# ahead (a clock an hour off) is stored, and triage flags it instead of using it.
FUTURE_REFUSED_AFTER = dt.timedelta(days=1)
EARLIEST_YEAR = 1900  # no home device reading or answer is older


@dataclass(frozen=True)
class Caller:
    """Who posts: a patient (only for ``patient_id``), a clinician, or an author."""

    patient_id: str | None = None
    staff: bool = False
    author: bool = False


@dataclass
class Entry:
    """A resource ready to store; after the write, ``created`` and the stored ``body``."""

    rtype: str
    id: str
    body: dict[str, Any]
    dedup_key: str | None = None
    patient_id: str | None = None
    patient_ref: str | None = None  # a transaction's urn:uuid of a Patient entry
    canonical_url: str | None = None
    data_time: dt.datetime | None = None
    measurements: list[Measurement] = field(default_factory=list)
    identifier: tuple[str, str] | None = None  # Patient: the unique identifier
    name: str | None = None
    full_url: str | None = None
    created: bool = True
    refusal: Refused | None = None  # set when the write finds a conflict
    withdrawn: bool = False  # entered-in-error (or a cancelled Observation): never data


def prepare(
    ctx: Context,
    raw: dict[str, Any],
    expected: str | None,
    caller: Caller,
    if_none_exist: str | None = None,
    bundle_urls: frozenset[str] = frozenset(),
) -> Entry:
    """Validate and check one resource; raise :class:`Refused` (or FhirInputError: 400)."""
    resource = parse_resource(raw, expected)
    rtype = str(raw["resourceType"])
    if rtype not in INGESTED:
        raise Refused.one(
            Why.INVALID, "not-supported", f"{rtype} cannot be posted here", "resourceType"
        )
    now = utcnow()
    meta = {**(raw.get("meta") or {}), "versionId": "1", "lastUpdated": now.isoformat()}
    entry = Entry(rtype, new_id(_PREFIX[rtype]), {**raw, "meta": meta})
    entry.body["id"] = entry.id
    if rtype == "Patient":
        _patient(entry, raw, caller, if_none_exist)
        return entry
    if rtype == "Questionnaire":
        if not caller.author:
            raise Refused.one(
                Why.FORBIDDEN, "forbidden", "only an author may publish questionnaires"
            )
        entry.canonical_url = str(raw["url"]) if raw.get("url") else None
        entry.dedup_key = _dedup_key(raw, if_none_exist)
        if entry.dedup_key is None and entry.canonical_url:
            entry.dedup_key = f"url={entry.canonical_url}|{raw.get('version') or ''}"
        return entry
    _subject(ctx, entry, raw, caller, bundle_urls)
    entry.dedup_key = _dedup_key(raw, if_none_exist)
    if rtype == "QuestionnaireResponse":
        entry.canonical_url, version = _answered_form(ctx, raw)
        problems = response_problems(ctx, resource, raw, entry.canonical_url, version)
        if problems:
            raise Refused(problems, Why.UNPROCESSABLE)
        entry.data_time = _aware(getattr(resource, "authored", None)) or now
        entry.withdrawn = raw.get("status") == "entered-in-error"
    else:
        data = observation_measurements(resource)  # type: ignore[arg-type]
        problems = (
            repeated_values(data, raw)
            or plausibility_problems(data, raw)
            or unit_problems(ctx, data, raw)
        )
        if problems:
            raise Refused(problems, Why.UNPROCESSABLE)
        entry.measurements = [_routed_first(ctx, m) for m in data.measurements]
        times = [m.time for m in data.measurements]
        entry.data_time = max(times) if times else _observation_time(resource) or now
        entry.withdrawn = data.status in ("cancelled", "entered-in-error")
    _sane_time(rtype, entry.data_time, now)
    return entry


def _routed_first(ctx: Context, m: Measurement) -> Measurement:
    """The measurement with the coding a pathway in force routes first (its panel's too).

    A device may code a value SNOMED CT first and LOINC second; the reading is stored
    under the coding that is read, the others beside it, so the worker finds it by the
    code its pathways name (and by any coding, for pathways published later)."""
    if not m.alt_codes and not m.alt_panels:
        return m
    for pathway in ctx.pathways.values():
        for code in m.codes:
            for panel in m.panels:
                if pathway.route_for(code, panel) is None:
                    continue
                if code == m.code and panel == m.panel:
                    return m
                codes = (code, *(c for c in m.codes if c != code))
                panels = (panel, *(p for p in m.panels if p != panel and p is not None))
                return dataclasses.replace(
                    m,
                    code=codes[0],
                    alt_codes=codes[1:],
                    panel=panels[0],
                    alt_panels=tuple(p for p in panels[1:] if p is not None),
                )
    return m


def _answered_form(ctx: Context, raw: dict[str, Any]) -> tuple[str, str | None]:
    """The canonical URL (and version) of the form a response answers.

    ``questionnaire`` may be the canonical URL, with or without ``|version``, or a relative
    reference ``Questionnaire/{id}`` to a stored Questionnaire, which resolves to its URL and
    version. A response that names no form cannot be routed to anyone: refused."""
    where = "QuestionnaireResponse.questionnaire"
    named = str(raw.get("questionnaire") or "").strip()
    if not named:
        raise Refused.one(
            Why.UNPROCESSABLE,
            "required",
            "questionnaire is required: the canonical URL of the form answered "
            "(http://...|version) or Questionnaire/{id} of a stored Questionnaire",
            where,
        )
    stored_id = reference_id(named, "Questionnaire") if named.startswith("Questionnaire/") else None
    if stored_id is not None:
        body = ctx.questionnaire_by_id(stored_id)
        if body is None or not body.get("url"):
            text = (
                f"{named} is not a stored Questionnaire with a url; post the Questionnaire "
                "first or give its canonical URL"
            )
            raise Refused.one(Why.UNPROCESSABLE, "not-found", text, where)
        version = str(body["version"]) if body.get("version") else None
        return str(body["url"]), version
    url, _, version = named.partition("|")
    return url, version or None


def _subject(
    ctx: Context, entry: Entry, raw: dict[str, Any], caller: Caller, bundle_urls: frozenset[str]
) -> None:
    where = f"{entry.rtype}.subject"
    subject = raw.get("subject") or {}
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not reference:
        raise Refused.one(Why.UNPROCESSABLE, "required", "subject must reference a Patient", where)
    if reference in bundle_urls:
        if caller.patient_id is not None:
            raise Refused.one(
                Why.FORBIDDEN, "forbidden", "a patient may post only for their own record"
            )
        entry.patient_ref = reference
        return
    patient_id = reference_id(reference, "Patient")
    if caller.patient_id is not None and patient_id != caller.patient_id:
        raise Refused.one(
            Why.FORBIDDEN, "forbidden", "a patient may post only for their own record"
        )
    if patient_id is None or not ctx.patient_exists(patient_id):
        raise Refused.one(
            Why.UNPROCESSABLE, "not-found", f"subject {reference} is not a known Patient", where
        )
    entry.patient_id = patient_id


def _patient(entry: Entry, raw: dict[str, Any], caller: Caller, if_none_exist: str | None) -> None:
    if not caller.staff:
        raise Refused.one(Why.FORBIDDEN, "forbidden", "only staff may register patients")
    candidates: list[tuple[int, str, str]] = []
    for i, ident in enumerate(raw.get("identifier") or []):
        system, value = ident.get("system"), ident.get("value")
        if system in (FNR_SYSTEM, DNR_SYSTEM):
            problem = national_id_problem(str(value or ""), system)
            if problem:
                raise Refused.one(
                    Why.UNPROCESSABLE, "value", problem, f"Patient.identifier[{i}].value"
                )
        if system and value:
            rank = {FNR_SYSTEM: 0, DNR_SYSTEM: 1}.get(system, 2)
            candidates.append((rank, str(system), str(value)))
    if if_none_exist:
        key = query_key(if_none_exist)
        wanted = key.removeprefix("identifier=")
        found = [c for c in candidates if f"{c[1]}|{c[2]}" == wanted]
        if not key.startswith("identifier=") or not found:
            raise Refused.one(
                Why.INVALID,
                "not-supported",
                "If-None-Exist for a Patient must be identifier=SYSTEM|VALUE of one of its "
                "identifiers",
            )
        candidates = found
    if candidates:
        _, system, value = min(candidates)
        entry.identifier = (system, value)
    entry.name = _name(raw.get("name") or [])


def _name(names: list[dict[str, Any]]) -> str | None:
    for name in names:
        if name.get("text"):
            return str(name["text"])
        parts = [*(name.get("given") or []), name.get("family") or ""]
        text = " ".join(str(p) for p in parts if p)
        if text:
            return text
    return None


def _dedup_key(raw: dict[str, Any], if_none_exist: str | None) -> str | None:
    if if_none_exist:
        return query_key(if_none_exist)
    idents = raw.get("identifier")
    for ident in [idents] if isinstance(idents, dict) else idents or []:
        if ident.get("system") and ident.get("value"):
            return f"identifier={ident['system']}|{ident['value']}"
    return None


def query_key(query: str) -> str:
    """A conditional create's search, normalized: ``identifier=S|V`` (parameters sorted)."""
    pairs = sorted(parse_qsl(query.strip().lstrip("?"), keep_blank_values=True))
    if not pairs or any(not key or not value for key, value in pairs):
        raise Refused.one(
            Why.INVALID, "invalid", "If-None-Exist must be a search such as identifier=SYSTEM|VALUE"
        )
    return "&".join(f"{key}={value}" for key, value in pairs)


def _sane_time(rtype: str, when: dt.datetime | None, now: dt.datetime) -> None:
    """Refuse a data time no device can mean: more than a day ahead, before 1900 (.NET's
    ``DateTime.MinValue`` is year 1), or beyond what a time zone can carry."""
    if when is None:
        return
    where = "authored" if rtype == "QuestionnaireResponse" else "effective[x]"
    place = f"{rtype}.{where}"
    utc: dt.datetime | None
    try:
        utc = when.astimezone(dt.UTC)
    except (OverflowError, ValueError):  # beyond year 1 or 9999 once the offset is applied
        utc = None if when.year < now.year else dt.datetime.max.replace(tzinfo=dt.UTC)
    if utc is None or utc.year < EARLIEST_YEAR:
        raise Refused.one(
            Why.UNPROCESSABLE,
            "value",
            f"{place} {when.isoformat()} is before {EARLIEST_YEAR}: a placeholder date, not the "
            "time of the data; check the device's clock",
            place,
        )
    if utc > now + FUTURE_REFUSED_AFTER:
        raise Refused.one(
            Why.UNPROCESSABLE,
            "value",
            f"{place} {when.isoformat()} is in the future (more than a day after the "
            f"server's time {now.isoformat(timespec='seconds')}); check the device's clock",
            place,
        )


def _aware(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else None
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0), tzinfo=LOCAL_TZ)
    return None


def _observation_time(obs: Any) -> dt.datetime | None:
    period = getattr(obs, "effectivePeriod", None)
    for value in (
        getattr(obs, "effectiveDateTime", None),
        getattr(obs, "effectiveInstant", None),
        period.end if period is not None else None,
        period.start if period is not None else None,
    ):
        if (when := _aware(value)) is not None:
            return when
    return None
