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
    ``unit`` is a UCUM code. ``time`` is timezone-aware. A device may code one value in
    several systems (SNOMED CT and LOINC): ``code`` and ``panel`` are the first codings,
    ``alt_codes`` and ``alt_panels`` the others, and routing looks at every one of them.
    """

    code: str
    value: float
    unit: str
    time: dt.datetime
    panel: str | None = None
    alt_codes: tuple[str, ...] = ()
    alt_panels: tuple[str, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        """Every coding of the value, the first one first."""
        return (self.code, *self.alt_codes)

    @property
    def panels(self) -> tuple[str | None, ...]:
        """Every coding of the panel the value came from (``(None,)`` for a plain value)."""
        return (self.panel, *self.alt_panels) if self.panel is not None else (None,)


@dataclass(frozen=True, slots=True)
class Reading:
    """A measurement routed to an input name, in the pathway's declared unit."""

    name: str
    value: float
    unit: str
    time: dt.datetime
