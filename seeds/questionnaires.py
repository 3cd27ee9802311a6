"""The FHIR Questionnaires the questionnaire pathways in ``rules/`` read.

Each item's ``linkId`` is the one the pathway's ``inputs`` name; types match what the
pathway expects (integer for numbers, boolean, choice with the scored codes).
"""

from __future__ import annotations

from typing import Any

BASE = "http://example.no/fhir/Questionnaire/"
EPILEPSY = BASE + "epilepsy-followup"
WRIST = BASE + "wrist-fracture-followup"
PHQ9 = BASE + "phq-9"
COPD = BASE + "copd-cat"
SIDE_EFFECTS = "http://example.no/fhir/CodeSystem/side-effects"
LOINC = "http://loinc.org"
# LOINC answer list LL358-3, shared by PHQ-9 and GAD-7 (scored 0-3 by the pathway).
FREQUENCY = (
    ("LA6568-5", "Ikke i det hele tatt"),
    ("LA6569-3", "Flere dager"),
    ("LA6570-1", "Mer enn halvparten av dagene"),
    ("LA6571-9", "Nesten hver dag"),
)
PHQ9_TEXT = (
    "Lite interesse for eller glede av å gjøre ting",
    "Følt deg nedfor, deprimert eller fått følelsen av håpløshet",
    "Problemer med å sovne, holde deg våken eller sovet for mye",
    "Følt deg trøtt eller hatt lite energi",
    "Dårlig appetitt eller spist for mye",
    "Dårlig selvbilde, eller følt at du har sviktet deg selv eller familien",
    "Problemer med å konsentrere deg",
    "Beveget deg eller snakket så langsomt, eller så urolig, at andre har lagt merke til det",
    "Tanker om at du heller ville vært død, eller om å skade deg selv på en eller annen måte",
)
CAT_TEXT = [
    "Hoste",
    "Slim",
    "Trykk i brystet",
    "Tungpust i bakker og trapper",
    "Begrenset i aktiviteter hjemme",
    "Trygghet når du går ut",
    "Søvn",
    "Energi",
]


def _item(
    link_id: str, text: str, kind: str, required: bool = False, **extra: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": link_id, "text": text, "type": kind}
    if required:
        item["required"] = True
    item.update(extra)
    return item


def _choice(
    link_id: str,
    text: str,
    system: str,
    options: tuple[tuple[str, str], ...],
    required: bool = False,
) -> dict[str, Any]:
    answers = [{"valueCoding": {"system": system, "code": c, "display": d}} for c, d in options]
    return _item(link_id, text, "choice", required, answerOption=answers)


def _questionnaire(url: str, name: str, title: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "url": url,
        "version": "1",
        "name": name,
        "title": title,
        "status": "active",
        "language": "nb",
        "item": items,
    }


def questionnaires() -> list[dict[str, Any]]:
    """Every Questionnaire the demo's responses answer."""

    def wants() -> dict[str, Any]:
        return _item("wants-contact", "Ønsker du å bli kontaktet av sykehuset?", "boolean")

    epilepsy = [
        _item("seizure-count", "Hvor mange anfall har du hatt siden sist?", "integer", True),
        _item("new-seizure-type", "Har du fått en ny type anfall?", "boolean"),
        _choice(
            "side-effects",
            "Har du bivirkninger av medisinene?",
            SIDE_EFFECTS,
            (("none", "Ingen"), ("mild", "Plagsomme"), ("severe", "Alvorlige")),
        ),
        wants(),
    ]
    wrist = [
        _item("pain", "Hvor vondt har du i håndleddet nå (0-10)?", "integer", True),
        _item("function", "Hvor godt kan du bruke hånden (0-10)?", "integer"),
        _item("wound-problem", "Har du problemer med operasjonssåret?", "boolean"),
        _item("numbness", "Har du nummenhet i fingrene?", "boolean"),
        _item("fever", "Har du hatt feber over 38 °C?", "boolean"),
    ]
    phq9 = [
        _choice(f"phq9-{n}", text, LOINC, FREQUENCY, required=True)
        for n, text in enumerate(PHQ9_TEXT, start=1)
    ]
    gad7 = [_choice(f"gad7-{n}", f"GAD-7 spørsmål {n}", LOINC, FREQUENCY) for n in range(1, 8)]
    cat = [
        _item(f"cat-{n}", f"{text} (0-5)", "integer", True)
        for n, text in enumerate(CAT_TEXT, start=1)
    ]
    cat += [_item("rescue-pack", "Har du startet nødpakken siden sist?", "boolean"), wants()]
    return [
        _questionnaire(EPILEPSY, "EpilepsyFollowup", "Oppfølging av epilepsi", epilepsy),
        _questionnaire(WRIST, "WristFractureFollowup", "Etter operert håndleddsbrudd", wrist),
        _questionnaire(PHQ9, "Phq9Gad7", "PHQ-9 og GAD-7", [*phq9, *gad7, wants()]),
        _questionnaire(COPD, "CopdCat", "KOLS – CAT", cat),
    ]
