"""Device data as the engine sees it.

A :class:`Measurement` is what a device sent (a coded value in some unit); a
:class:`Reading` is a measurement routed to a pathway's input name and converted to the
unit the pathway declared for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Measurement:
    """One value from a device, before any pathway has looked at it.

    ``code`` is ``"system|code"`` of the observation (or of the component, for a panel);
    ``panel`` is the panel's ``"system|code"`` when the value came from a component.
    ``unit`` is a UCUM code. ``time`` is timezone-aware.
    """

    code: str
    value: float
    unit: str
    time: dt.datetime
    panel: str | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """A measurement routed to an input name, in the pathway's declared unit."""

    name: str
    value: float
    unit: str
    time: dt.datetime
