"""Demo patients with home devices only: CGM glucose, heart failure, home blood pressure."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from seeds import fhir
from seeds.builder import Builder


def _glucose(
    b: Builder, base: float, amp: float, noise: float, lo: float, hi: float, hypos: int = 0
) -> list[tuple[dt.datetime, float]]:
    """A CGM trace over 14 days, one value every 15-30 minutes; ``hypos`` nights dip below 3."""
    out: list[tuple[dt.datetime, float]] = []
    t = b.ago(14) + dt.timedelta(minutes=20)
    end = b.ago(0, 0.15)
    while t <= end:
        hour = t.hour + t.minute / 60
        value = base + amp * math.sin((hour - 10) / 24 * 2 * math.pi) + b.rng.gauss(0, noise)
        out.append((t, min(hi, max(lo, value))))
        t += dt.timedelta(minutes=b.rng.randint(15, 30))
    nights = b.rng.sample(range(1, 14), hypos)
    for night in nights:
        idx = [i for i, (t, _) in enumerate(out) if (end - t).days == night and 2 <= t.hour < 5]
        for i in idx[:3]:
            out[i] = (out[i][0], b.rng.uniform(2.5, 2.9))
    return out


def cgm_patients(b: Builder) -> None:
    for story, level, trace, mgdl, own in [
        ("god tid i målområdet", "green", (7.0, 1.5, 0.8, 4.0, 12.5, 0), False, {}),
        ("mye tid over målområdet", "yellow", (10.4, 2.5, 1.3, 4.5, 19.0, 0), False, {}),
        ("nattlige føninger under 3,0", "red", (6.8, 1.2, 0.9, 3.5, 12.0, 6), False, {}),
        (
            "måler i mg/dL, egen grense for tid i målområdet",
            "green",
            (7.6, 1.8, 1.0, 4.0, 14.0, 0),
            True,
            {"tir_min": 60},
        ),
    ]:
        p = b.patient(f"diabetes: {story}")
        p.enrolments["diabetes-cgm"] = own
        p.expect["diabetes-cgm"] = level
        values = _glucose(b, *trace)
        readings = [
            fhir.reading(
                f"{p.key}-g{i}",
                "2339-0" if mgdl else "15074-8",
                round(v * 18.016) if mgdl else round(v, 1),
                at,
                "CGM-sensor",
            )
            for i, (at, v) in enumerate(values)
        ]
        for start in range(0, len(readings), 300):  # the phone uploads in batches
            p.uploads.append(readings[start : start + 300])


def _weight(b: Builder, base: float, rise_per_day: float) -> Callable[..., dict[str, Any]]:
    def make(ident: str, at: dt.datetime, day: int) -> dict[str, Any]:
        value = base + rise_per_day * max(0, 2 - day) + b.rng.uniform(-0.1, 0.1)
        return fhir.reading(ident, "29463-7", round(value, 1), at, "Vekt")

    return make


def heart_patients(b: Builder) -> None:
    hf, ht = "heart-failure", "hypertension-home-bp"
    for story, level, weight, rise, bp, pulse, own in [
        ("stabil vekt (og blodtrykk målt for sjelden)", "green", 81.0, 0.0, 118, 68, {}),
        ("2,4 kg på tre dager", "red", 92.0, 1.2, 112, 74, {}),
        (
            "0,9 kg på tre dager, egen gul grense 0,5 kg",
            "yellow",
            70.0,
            0.45,
            124,
            88,
            {"gain_yellow": 0.5},
        ),
    ]:
        p = b.patient(f"hjertesvikt: {story}")
        p.enrolments[hf] = own
        p.expect[hf] = level

        def vitals(
            ident: str, at: dt.datetime, day: int, sys: int = bp, hr: int = pulse
        ) -> list[dict[str, Any]]:
            return [
                fhir.blood_pressure(
                    ident + "-bp", round(b.jitter(sys, 4)), round(b.jitter(72, 3)), at
                ),
                fhir.reading(
                    ident + "-hr", "8867-4", round(b.jitter(hr, 3)), at, "Blodtrykksmåler"
                ),
                fhir.reading(ident + "-o2", "59408-5", round(b.jitter(96, 1)), at, "Pulsoksymeter"),
            ]

        readings = b.daily(p, "w", 14, 1, _weight(b, weight, rise))
        readings += b.daily(p, "v", 14, 1, vitals)
        p.uploads.append(sorted(readings, key=lambda r: r["effectiveDateTime"]))
        if level == "green":
            p.enrolments[ht] = {}
            p.expect[ht] = "yellow"  # seven readings in a week: too few to judge
        if level == "red":  # a thermometer reading: kept, and shown to staff as unrouted
            temp = fhir.reading(f"{p.key}-temp", "8310-5", 37.9, b.ago(0, 2), "Termometer")
            p.uploads.append([temp])
    for story, level, sys, dia, latest, limits in [
        ("innenfor eget mål (skrøpelig, 145)", "green", 138, 80, None, {"home_systolic": 145}),
        ("for høyt i snitt", "yellow", 146, 91, None, {}),
        ("svært høyt i dag", "red", 150, 95, (186, 114), {}),
    ]:
        p = b.patient(f"høyt blodtrykk: {story}")
        p.enrolments[ht] = limits
        p.expect[ht] = level

        def home_bp(
            ident: str, at: dt.datetime, day: int, s: int = sys, d: int = dia
        ) -> dict[str, Any]:
            return fhir.blood_pressure(ident, round(b.jitter(s, 5)), round(b.jitter(d, 4)), at)

        readings = b.daily(p, "bp", 10, 2, home_bp)
        if latest:
            readings.append(fhir.blood_pressure(f"{p.key}-bp-now", *latest, b.ago(0, 0.5)))
        p.uploads.append(readings)
