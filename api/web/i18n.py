"""The page's words in Norwegian bokmål (default) and English, and how times are shown."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from api.web.replay_words import REPLAY_TEXTS
from api.web.results_words import RESULTS_TEXTS

LANGUAGES = ("nb", "en")
OSLO = ZoneInfo("Europe/Oslo")
SHAPES = {"red": "■", "yellow": "▲", "green": "●"}
# Reasons that tell, not alarm: data an app withdrew or corrected (at the level it had).
INFO_KINDS = frozenset({"withdrawn", "corrected"})

TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "app": "Behovsstyrt poliklinikk",
        "skip": "Hopp til innholdet",
        "nav": "Hovedmeny",
        "worklist": "Arbeidsliste",
        "unrouted": "Ikke vurdert",
        "pathways": "Forløp",
        "logout": "Logg ut",
        "login": "Logg inn",
        "login_intro": "Lim inn tilgangsnøkkelen din (utviklingsnøkkelen fra «triage run» virker).",
        "token": "Tilgangsnøkkel",
        "bad_token": "Nøkkelen er ugyldig eller utløpt.",
        "patient_token": "Denne siden er for behandlere; en pasientnøkkel gir ikke tilgang.",
        "too_many_sign_ins": "For mange mislykkede innlogginger. Prøv igjen om {seconds} sekunder.",
        "red": "Rød",
        "yellow": "Gul",
        "green": "Grønn",
        "all": "Alle",
        "open": "Åpne",
        "acknowledged": "Kvittert",
        "resolved": "Avsluttet",
        "status": "Status",
        "filter": "Vis",
        "counts": "Antall per nivå",
        "updated": "Oppdatert",
        "patient": "Pasient",
        "pathway": "Forløp",
        "level": "Nivå",
        "reasons": "Begrunnelse",
        "contact": "Kontakt",
        "due": "Frist",
        "data": "Data",
        "actions": "Handlinger",
        "overdue": "Over fristen",
        "show": "Vis",
        "national_id": "Fødselsnummer",
        "acknowledge": "Kvitter",
        "resolve": "Avslutt",
        "note": "Notat",
        "override": "Overstyr nivå",
        "clear_override": "Fjern overstyring",
        "reason": "Begrunnelse for overstyring",
        "new_level": "Nytt nivå",
        "engine_level": "Motorens nivå",
        "empty": "Ingen saker her.",
        "more": "Flere saker finnes; listen viser de første {n}.",
        "none": "ingen",
        "digital": "digital",
        "phone": "telefon",
        "video": "video",
        "physical": "oppmøte",
        "contact_taken": "Kontakt som ble gjennomført",
        "contact_recorded": "Gjennomført",
        "contact_unrecorded": "Ikke registrert",
        "contact_none": "Ingen kontakt",
        "contact_digital": "Digital (melding)",
        "contact_phone": "Telefon",
        "contact_video": "Video",
        "contact_physical": "Oppmøte",
        "ago_now": "nå nettopp",
        "ago_min": "for {n} min siden",
        "ago_hours": "for {n} timer siden",
        "ago_hour": "for 1 time siden",
        "ago_days": "for {n} dager siden",
        "ago_day": "for 1 dag siden",
        "history": "Triagehistorikk",
        "version": "Versjon",
        "time": "Tid",
        "answers": "Svar fra pasienten",
        "question": "Spørsmål",
        "answer": "Svar",
        "readings": "Målinger",
        "value": "Verdi",
        "band": "Målområde",
        "tir": "Tid i målområdet",
        "change": "Endring siste {w}",
        "limit_from": "{level} fra {value}",
        "limits": "Grenser",
        "red_n": "rødt",
        "yellow_n": "gult",
        "green_n": "grønt",
        "days": "{n} dager",
        "day": "1 døgn",
        "hours": "{n} timer",
        "weeks": "{n} uker",
        "last_n": "Siste {n} av {total} målinger",
        "thresholds": "Grenser",
        "enrolments": "Forløp og egne grenser",
        "tasks": "Skjema til pasienten",
        "task_due": "Forfall",
        "task_state": "Status",
        "task_ready": "Venter på svar",
        "task_overdue": "Forfalt, ikke besvart",
        "task_answered": "Besvart",
        "task_cancelled": "Avsluttet",
        "task_reminders": "Påminnelser sendt",
        "no_tasks": "Ingen skjema er sendt.",
        "save": "Lagre grenser",
        "saved": "Lagret.",
        "not_enrolled": "Ikke meldt inn i noe forløp.",
        "enrol_new": "Meld inn i et forløp",
        "began": "Oppfølgingen startet (valgfritt)",
        "began_help": "Tom: i dag. Skjemaplanen regnes fra siste svar, eller fra denne dagen.",
        "enrol": "Meld inn",
        "since": "i oppfølging siden",
        "ended": "oppfølgingen er avsluttet",
        "end_enrolment": "Avslutt oppfølgingen",
        "audit": "Hvem har lest pasientens data",
        "who": "Hvem",
        "action": "Handling",
        "refused": "Ikke tillatt",
        "not_found": "Finnes ikke",
        "error": "Noe gikk galt",
        "back": "Tilbake til arbeidslisten",
        "unrouted_title": "Data ingen forløp leste",
        "failed_title": "Triage som feilet",
        "received": "Mottatt",
        "questionnaire": "Skjema",
        "attempts": "Forsøk",
        "error_text": "Feil",
        "nothing": "Ingenting venter.",
        "file": "Forløpsfil",
        "versions": "Versjoner",
        "published": "Publisert",
        "mode_shadow": "skyggeversjon, ikke i bruk",
        "mode_retired": "skyggeversjon, trukket tilbake",
        "by": "av",
        "in_force": "Grenser i bruk",
        "min": "Min",
        "max": "Maks",
        "doc": "Forklaring",
        "name": "Navn",
        "language": "Språk",
        "newest": "nyeste",
        "newest_title": "Nyeste data vurdert",
        "info": "Til informasjon",
        "at_data": "data fra",
        "data_as_of": "Data fra",
        "judging": "Vurdering",
        "judged": "vurdert {time}",
        "kind_rejudge": "Vurdert på nytt med versjon {version}",
        "kind_withdrawn": "Vurdert etter at data ble trukket tilbake",
        "repeated": "{n} like resultater på rad",
        "withdrawn_form": "trukket tilbake som feilregistrert",
        "version_n": "versjon {n}",
        "yes": "Ja",
        "no": "Nei",
    },
    "en": {
        "app": "Needs-driven outpatient follow-up",
        "skip": "Skip to content",
        "nav": "Main menu",
        "worklist": "Worklist",
        "unrouted": "Not triaged",
        "pathways": "Pathways",
        "logout": "Sign out",
        "login": "Sign in",
        "login_intro": "Paste your access token (the development token from “triage run” works).",
        "token": "Access token",
        "bad_token": "The token is invalid or has expired.",
        "patient_token": "This page is for clinicians; a patient token gives no access.",
        "too_many_sign_ins": "Too many failed sign-ins. Try again in {seconds} seconds.",
        "red": "Red",
        "yellow": "Yellow",
        "green": "Green",
        "all": "All",
        "open": "Open",
        "acknowledged": "Acknowledged",
        "resolved": "Resolved",
        "status": "Status",
        "filter": "Show",
        "counts": "Count per level",
        "updated": "Updated",
        "patient": "Patient",
        "pathway": "Pathway",
        "level": "Level",
        "reasons": "Reasons",
        "contact": "Contact",
        "due": "Due",
        "data": "Data",
        "actions": "Actions",
        "overdue": "Overdue",
        "show": "Show",
        "national_id": "National id",
        "acknowledge": "Acknowledge",
        "resolve": "Resolve",
        "note": "Note",
        "override": "Override level",
        "clear_override": "Clear override",
        "reason": "Reason for the override",
        "new_level": "New level",
        "engine_level": "Engine's level",
        "empty": "No items here.",
        "more": "There are more items; the list shows the first {n}.",
        "none": "none",
        "digital": "digital",
        "phone": "phone",
        "video": "video",
        "physical": "in person",
        "contact_taken": "Contact that took place",
        "contact_recorded": "Took place",
        "contact_unrecorded": "Not recorded",
        "contact_none": "No contact",
        "contact_digital": "Digital (message)",
        "contact_phone": "Phone",
        "contact_video": "Video",
        "contact_physical": "In person",
        "ago_now": "just now",
        "ago_min": "{n} min ago",
        "ago_hours": "{n} hours ago",
        "ago_hour": "1 hour ago",
        "ago_days": "{n} days ago",
        "ago_day": "1 day ago",
        "history": "Triage history",
        "version": "Version",
        "time": "Time",
        "answers": "The patient's answers",
        "question": "Question",
        "answer": "Answer",
        "readings": "Readings",
        "value": "Value",
        "band": "Target range",
        "tir": "Time in range",
        "change": "Change over the last {w}",
        "limit_from": "{level} from {value}",
        "limits": "Limits",
        "red_n": "red",
        "yellow_n": "yellow",
        "green_n": "green",
        "days": "{n} days",
        "day": "1 day",
        "hours": "{n} hours",
        "weeks": "{n} weeks",
        "last_n": "Last {n} of {total} readings",
        "thresholds": "Thresholds",
        "enrolments": "Pathways and own thresholds",
        "tasks": "Forms for the patient",
        "task_due": "Due",
        "task_state": "Status",
        "task_ready": "Waiting for an answer",
        "task_overdue": "Overdue, not answered",
        "task_answered": "Answered",
        "task_cancelled": "Cancelled",
        "task_reminders": "Reminders sent",
        "no_tasks": "No forms have been sent.",
        "save": "Save thresholds",
        "saved": "Saved.",
        "not_enrolled": "Not enrolled in any pathway.",
        "enrol_new": "Enrol in a pathway",
        "began": "Follow-up began (optional)",
        "began_help": (
            "Empty: today. The questionnaire schedule counts from the last answer,"
            " or from this day."
        ),
        "enrol": "Enrol",
        "since": "in follow-up since",
        "ended": "the follow-up has ended",
        "end_enrolment": "End the follow-up",
        "audit": "Who has read this patient's data",
        "who": "Who",
        "action": "Action",
        "refused": "Not allowed",
        "not_found": "Not found",
        "error": "Something went wrong",
        "back": "Back to the worklist",
        "unrouted_title": "Data no pathway read",
        "failed_title": "Triage that failed",
        "received": "Received",
        "questionnaire": "Questionnaire",
        "attempts": "Attempts",
        "error_text": "Error",
        "nothing": "Nothing is waiting.",
        "file": "Pathway file",
        "versions": "Versions",
        "published": "Published",
        "mode_shadow": "shadow version, not in force",
        "mode_retired": "shadow version, retired",
        "by": "by",
        "in_force": "Thresholds in force",
        "min": "Min",
        "max": "Max",
        "doc": "Explanation",
        "name": "Name",
        "language": "Language",
        "newest": "newest",
        "newest_title": "Newest data judged",
        "info": "For information",
        "at_data": "data of",
        "data_as_of": "Data as of",
        "judging": "Judgement",
        "judged": "judged {time}",
        "kind_rejudge": "Judged again with version {version}",
        "kind_withdrawn": "Judged after data was withdrawn",
        "repeated": "{n} identical results in a row",
        "withdrawn_form": "withdrawn as entered in error",
        "version_n": "version {n}",
        "yes": "Yes",
        "no": "No",
    },
}
for _lang, _texts in RESULTS_TEXTS.items():  # the page "Resultater" has its own module
    TEXTS[_lang].update(_texts)
for _lang, _texts in REPLAY_TEXTS.items():  # and so has "Prøv endring"
    TEXTS[_lang].update(_texts)


def add_texts(texts: dict[str, dict[str, str]]) -> None:
    """Merge a page's own words (kept in its module) into :data:`TEXTS`."""
    for lang, words in texts.items():
        TEXTS[lang].update(words)


class Words:
    """``t("key", n=2)``: a text in the page's language (the key itself when unknown)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "nb"
        self._texts = TEXTS[self.lang]

    def __call__(self, key: str, **values: object) -> str:
        text = self._texts.get(key, key)
        return text.format(**values) if values else text

    def number(self, value: float, digits: int = 1, sign: bool = False) -> str:
        """A number as the language writes it: "+2,3" in bokmål, "+2.3" in English."""
        text = f"{value:{'+' if sign else ''}.{digits}f}"
        return text.replace(".", ",") if self.lang == "nb" else text

    def duration(self, text: str) -> str:
        """A duration in words ("P3D": "3 dager"); other durations as written."""
        match = re.fullmatch(r"P(?:(\d+)W|(\d+)D|T(\d+)H)", text)
        if match is None:
            return text
        weeks, days, hours = match.groups()
        if weeks:
            return self("weeks", n=weeks)
        if days:
            return self("day") if days == "1" else self("days", n=days)
        return self("hours", n=hours)

    def ago(self, when: dt.datetime | None, now: dt.datetime) -> str:
        """How long ago, in words: "for 2 timer siden"."""
        if when is None:
            return "–"
        minutes = int((now - when).total_seconds() // 60)
        if minutes < 1:
            return self("ago_now")
        if minutes < 60:
            return self("ago_min", n=minutes)
        hours = minutes // 60
        if hours < 48:
            return self("ago_hour") if hours == 1 else self("ago_hours", n=hours)
        days = hours // 24
        return self("ago_day") if days == 1 else self("ago_days", n=days)


def local(when: dt.datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    """A stored time on the clinic's clock (Europe/Oslo)."""
    return when.astimezone(OSLO).strftime(fmt) if when is not None else "–"


def parse_time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def short(when: dt.datetime | str | None, now: dt.datetime | None = None) -> str:
    """A time of data, short on the clinic's clock: "28.11 08:05" this year, with the year
    ("28.11.2025 08:05") otherwise; an ISO string is read first; "" when there is none."""
    if isinstance(when, str):
        try:
            when = parse_time(when)
        except ValueError:
            return ""
    if when is None:
        return ""
    here = when.astimezone(OSLO)
    this_year = (now or dt.datetime.now(dt.UTC)).astimezone(OSLO).year
    return here.strftime("%d.%m %H:%M" if here.year == this_year else "%d.%m.%Y %H:%M")


def masked(value: str | None) -> str:
    """A national id with the personal number hidden: ``130313*****``."""
    if not value:
        return "–"
    return value[:6] + "*" * max(len(value) - 6, 0)
