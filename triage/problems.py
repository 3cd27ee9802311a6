"""Problems found in a pathway file, worded for the clinic staff who write them.

Every problem names the file, the line and the column, says what is wrong and what
would be right, in Norwegian bokmål (``nb``) or English (``en``). The wording lives in
one catalogue, :data:`MESSAGES`, so both languages stay complete: a test checks that
every code has both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Lang = str  # "nb" or "en"

MESSAGES: dict[str, dict[Lang, str]] = {
    "yaml-syntax": {
        "en": "the file is not valid YAML: {detail}. Check the indentation: keys at the same "
        "level start in the same column, and each list item starts with '- '",
        "nb": "filen er ikke gyldig YAML: {detail}. Sjekk innrykket: nøkler på samme nivå må "
        "starte i samme kolonne, og hvert listepunkt starter med '- '",
    },
    "yaml-duplicate-key": {
        "en": "'{key}' is written twice in the same section; keep only one of them",
        "nb": "'{key}' står to ganger i samme del; behold bare én av dem",
    },
    "not-a-mapping": {
        "en": "{where} must be a section of 'key: value' lines, not {got}",
        "nb": "{where} må være en del med linjer av typen 'nøkkel: verdi', ikke {got}",
    },
    "not-a-list": {
        "en": "{where} must be a list (each item on its own line starting with '- '), not {got}",
        "nb": "{where} må være en liste (hvert punkt på egen linje som starter med '- '), "
        "ikke {got}",
    },
    "missing-key": {
        "en": "'{key}' is missing in {where}; add a line such as {example}",
        "nb": "'{key}' mangler i {where}; legg til en linje som {example}",
    },
    "unknown-key": {
        "en": "unknown key '{key}' in {where}{suggestion}; the keys allowed here are: {known}",
        "nb": "ukjent nøkkel '{key}' i {where}{suggestion}; tillatte nøkler her er: {known}",
    },
    "bad-pathway-id": {
        "en": "the pathway id '{value}' may only use lower-case letters, digits and '-', "
        "for example 'heart-failure'",
        "nb": "forløps-id-en '{value}' kan bare ha små bokstaver, sifre og '-', "
        "for eksempel 'hjertesvikt'",
    },
    "bad-version": {
        "en": "version must be a whole number such as 1 or 2, not {value}; raise it by one "
        "on every change",
        "nb": "version må være et helt tall som 1 eller 2, ikke {value}; øk det med én ved "
        "hver endring",
    },
    "not-text": {
        "en": "{where} must be text, not {got}",
        "nb": "{where} må være tekst, ikke {got}",
    },
    "unknown-level": {
        "en": "unknown level '{value}'{suggestion}; use red, yellow or green",
        "nb": "ukjent nivå '{value}'{suggestion}; bruk red, yellow eller green",
    },
    "unknown-consultation": {
        "en": "unknown consultation '{value}'{suggestion}; use one of {known}",
        "nb": "ukjent konsultasjonsform '{value}'{suggestion}; bruk en av {known}",
    },
    "bad-duration": {
        "en": "{detail}",
        "nb": "'{value}' er ikke en ISO 8601-varighet; skriv f.eks. P14D (14 dager), "
        "PT12H (12 timer) eller P6M (6 måneder)",
    },
    "remind-not-ascending": {
        "en": "the reminder {value} does not come after the one before it ({previous}); list "
        "remind_after in ascending order, each once, e.g. [P3D, P7D]",
        "nb": "påminnelsen {value} kommer ikke etter den før ({previous}); skriv remind_after "
        "i stigende rekkefølge, hver bare én gang, f.eks. [P3D, P7D]",
    },
    "remind-after-overdue": {
        "en": "the reminder {value} is not before overdue_after {overdue}: by then the item is "
        'already yellow "overdue"; make it shorter than {overdue} or remove it',
        "nb": "påminnelsen {value} kommer ikke før overdue_after {overdue}: da er saken allerede "
        "gul «forfalt»; gjør den kortere enn {overdue} eller fjern den",
    },
    "bad-name": {
        "en": "'{name}' cannot be used as a name: use letters, digits and '_', starting with "
        "a letter, for example '{example}'",
        "nb": "'{name}' kan ikke brukes som navn: bruk bokstaver, sifre og '_', og start med "
        "en bokstav, for eksempel '{example}'",
    },
    "reserved-name": {
        "en": "'{name}' is a word of the expression language and cannot be a name; "
        "choose another, for example '{name}_value'",
        "nb": "'{name}' er et ord i uttrykksspråket og kan ikke være et navn; "
        "velg et annet, for eksempel '{name}_verdi'",
    },
    "name-twice": {
        "en": "the name '{name}' is already used for {first_kind} on line {first_line}; "
        "inputs, derived values and thresholds share one set of names, so give this one "
        "another name",
        "nb": "navnet '{name}' er allerede brukt for {first_kind} på linje {first_line}; "
        "inndata, avledede verdier og terskler deler navn, så gi denne et annet navn",
    },
    "duplicate-rule-id": {
        "en": "the rule id '{id}' is already used on line {first_line}; give each rule its own id",
        "nb": "regel-id-en '{id}' er allerede brukt på linje {first_line}; gi hver regel sin "
        "egen id",
    },
    "unknown-name": {
        "en": "unknown name '{name}' in {where}{suggestion}; the names you can use are the "
        "inputs, the derived values and the thresholds: {known}",
        "nb": "ukjent navn '{name}' i {where}{suggestion}; navnene du kan bruke er inndata, "
        "avledede verdier og terskler: {known}",
    },
    "expression-syntax": {
        "en": "the expression '{expr}' cannot be read ({detail}); write it like "
        "'seizures >= seizures_red and not wants_contact'",
        "nb": "uttrykket '{expr}' kan ikke leses ({detail}); skriv det som "
        "'seizures >= seizures_red and not wants_contact'",
    },
    "type-mismatch": {
        "en": "the expression '{expr}' mixes values of different kinds ({types}); compare a "
        "number with a number, text with text in quotes, and yes/no with true or false",
        "nb": "uttrykket '{expr}' blander verdier av ulik type ({types_nb}); sammenlign tall med "
        "tall, tekst med tekst i anførselstegn, og ja/nei med true eller false",
    },
    "when-not-boolean": {
        "en": "'when' must be a yes/no test, but '{expr}' gives {got}; write a comparison "
        "such as '{expr} >= 1'",
        "nb": "'when' må være en ja/nei-test, men '{expr}' gir {got}; skriv en sammenligning "
        "som '{expr} >= 1'",
    },
    "not-a-number": {
        "en": "{where} must be a number, not {got}",
        "nb": "{where} må være et tall, ikke {got}",
    },
    "not-boolean": {
        "en": "{where} must be true or false, not {got}",
        "nb": "{where} må være true eller false, ikke {got}",
    },
    "threshold-outside-bounds": {
        "en": "the threshold '{name}' has value {value}, outside its own limits "
        "min {min} .. max {max}; change the value or the limits",
        "nb": "terskelen '{name}' har verdien {value}, utenfor sine egne grenser "
        "min {min} .. max {max}; endre verdien eller grensene",
    },
    "threshold-min-above-max": {
        "en": "the threshold '{name}' has min {min} above max {max}; swap them",
        "nb": "terskelen '{name}' har min {min} over max {max}; bytt dem om",
    },
    "threshold-half-bounds": {
        "en": "the threshold '{name}' has only '{has}'; give both min and max so a patient's "
        "own value can be checked, or neither",
        "nb": "terskelen '{name}' har bare '{has}'; oppgi både min og max slik at pasientens "
        "egen verdi kan kontrolleres, eller ingen av dem",
    },
    "input-form": {
        "en": "the input '{name}' must read either an answer ('answer: LINKID') or a "
        "reading ('observation: NAME'), exactly one of them",
        "nb": "inndata '{name}' må lese enten et svar ('answer: LINKID') eller en måling "
        "('observation: NAVN'), nøyaktig én av dem",
    },
    "unknown-observation": {
        "en": "'{name}' is not a reading declared under applies_to.observations{suggestion}; "
        "declared readings are: {known}",
        "nb": "'{name}' er ikke en måling som er oppgitt under "
        "applies_to.observations{suggestion}; oppgitte målinger er: {known}",
    },
    "several-windows": {
        "en": "the input '{name}' gives several summaries ({forms}); choose exactly one",
        "nb": "inndata '{name}' oppgir flere oppsummeringer ({forms}); velg nøyaktig én",
    },
    "unknown-answer-type": {
        "en": "unknown answer type '{value}'{suggestion}; use one of {known}",
        "nb": "ukjent svartype '{value}'{suggestion}; bruk en av {known}",
    },
    "scores-on-non-answer": {
        "en": "'scores' only works on an answer input; remove it from '{name}'",
        "nb": "'scores' virker bare på svar; fjern det fra '{name}'",
    },
    "unknown-unit": {
        "en": "{detail}",
        "nb": "ukjent enhet '{value}'; bruk en UCUM-kode som mmol/L, mg/dL, kg, [lb_av], Cel, "
        "[degF], %, /min eller mm[Hg]",
    },
    "route-twice": {
        "en": "the code '{code}' is already routed on line {first_line}; a code may be "
        "declared once per pathway",
        "nb": "koden '{code}' er allerede oppgitt på linje {first_line}; en kode kan bare "
        "oppgis én gang per forløp",
    },
    "route-unit-conflict": {
        "en": "the reading '{name}' is declared in '{unit}' here but in '{first_unit}' on line "
        "{first_line}; one name has one unit",
        "nb": "målingen '{name}' er oppgitt i '{unit}' her, men i '{first_unit}' på linje "
        "{first_line}; ett navn har én enhet",
    },
    "bad-code": {
        "en": "the code '{value}' must be written as 'system|code', for example "
        "'http://loinc.org|29463-7'",
        "nb": "koden '{value}' må skrives som 'system|kode', for eksempel "
        "'http://loinc.org|29463-7'",
    },
    "nothing-applies": {
        "en": "applies_to names no questionnaire and no observation, so no data would ever "
        "reach this pathway; add 'questionnaires:' or 'observations:'",
        "nb": "applies_to oppgir verken skjema eller målinger, så ingen data vil nå dette "
        "forløpet; legg til 'questionnaires:' eller 'observations:'",
    },
    "empty-list": {
        "en": "{where} is empty; add at least one item",
        "nb": "{where} er tom; legg til minst ett punkt",
    },
    "unknown-placeholder": {
        "en": "the text names '{{{name}}}', which is not an input, derived value or "
        "threshold{suggestion}",
        "nb": "teksten nevner '{{{name}}}', som ikke er inndata, avledet verdi eller "
        "terskel{suggestion}",
    },
    "test-unknown-threshold": {
        "en": "the test sets threshold '{name}', which this pathway does not have{suggestion}",
        "nb": "testen setter terskelen '{name}', som forløpet ikke har{suggestion}",
    },
    "test-threshold-fixed": {
        "en": "the test sets threshold '{name}', but it has no min/max and so cannot be set "
        "per patient; give it min and max in 'thresholds'",
        "nb": "testen setter terskelen '{name}', men den har ikke min/max og kan derfor ikke "
        "settes per pasient; gi den min og max under 'thresholds'",
    },
    "test-threshold-outside": {
        "en": "the test sets threshold '{name}' to {value}, outside its limits "
        "min {min} .. max {max}",
        "nb": "testen setter terskelen '{name}' til {value}, utenfor grensene "
        "min {min} .. max {max}",
    },
    "test-unknown-rule": {
        "en": "the test expects rule '{name}' to fire, but there is no such rule{suggestion}",
        "nb": "testen forventer at regelen '{name}' slår til, men den finnes ikke{suggestion}",
    },
    "test-unknown-answer": {
        "en": "the test answers '{name}', which no input of this pathway reads{suggestion}",
        "nb": "testen svarer på '{name}', som ingen inndata i forløpet leser{suggestion}",
    },
    "test-bad-time": {
        "en": "'{value}' is not a time; write it as ISO 8601 with an offset, for example "
        "'2026-11-20T08:00:00+01:00'",
        "nb": "'{value}' er ikke et tidspunkt; skriv det som ISO 8601 med tidssone, for "
        "eksempel '2026-11-20T08:00:00+01:00'",
    },
}

# What a YAML value "is", in words, for messages such as "must be a number, not text".
KIND_WORDS: dict[str, dict[Lang, str]] = {
    "text": {"en": "text", "nb": "tekst"},
    "number": {"en": "a number", "nb": "et tall"},
    "boolean": {"en": "true/false", "nb": "true/false"},
    "list": {"en": "a list", "nb": "en liste"},
    "mapping": {"en": "a section", "nb": "en del med nøkler"},
    "empty": {"en": "nothing", "nb": "ingenting"},
    "date": {"en": "a date", "nb": "en dato"},
}

# English words the loader passes as parameters (``where``, ``first_kind``, ``got``),
# in Norwegian, so that a message in ``nb`` is not half English.
NB_PHRASES: dict[str, str] = {
    "the file": "filen",
    "a threshold": "en terskel",
    "an input": "inndata",
    "a derived value": "en avledet verdi",
    "a number": "et tall",
    "text": "tekst",
    "a date": "en dato",
    "of any kind": "en verdi av ukjent type",
}


def default_lang() -> Lang:
    """The language for messages: ``TRIAGE_LANG``, else ``nb`` for a Norwegian locale."""
    explicit = os.environ.get("TRIAGE_LANG", "").strip().lower()
    if explicit in ("nb", "en"):
        return explicit
    locale = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG")
    return "nb" if (locale or "").lower().startswith(("nb", "nn", "no")) else "en"


def _did_you_mean(close: object, lang: Lang) -> str:
    if not close:
        return ""
    return f" (mente du '{close}'?)" if lang == "nb" else f" (did you mean '{close}'?)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a pathway file, at a 1-based line and column."""

    file: str
    line: int
    col: int
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: Lang = "en") -> str:
        templates = MESSAGES[self.code]
        template = templates.get(lang) or templates["en"]
        params = dict(self.params)
        close = params.pop("close", None)
        params.setdefault("suggestion", _did_you_mean(close, lang))
        got = params.get("got")
        if isinstance(got, str) and got in KIND_WORDS:
            params["got"] = KIND_WORDS[got][lang if lang in ("nb", "en") else "en"]
        if lang == "nb":
            for key in ("where", "first_kind", "got"):
                value = params.get(key)
                if isinstance(value, str) and value in NB_PHRASES:
                    params[key] = NB_PHRASES[value]
        return template.format(**params)

    def format(self, lang: Lang = "en") -> str:
        """``FILE:LINE:COL: message``, the form editors and terminals link to."""
        return f"{self.file}:{self.line}:{self.col}: {self.message(lang)}"

    def __str__(self) -> str:
        return self.format("en")


class PathwayError(Exception):
    """A pathway file that cannot be used; ``problems`` lists everything found in it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.col))
        super().__init__("\n".join(p.format() for p in self.problems))

    def format(self, lang: Lang = "en") -> str:
        return "\n".join(p.format(lang) for p in self.problems)
