"""Traffic-light levels and consultation kinds, with the orderings the engine relies on."""

from __future__ import annotations

import enum


class Level(enum.IntEnum):
    """A traffic-light level; the integer order is the urgency order (green < yellow < red)."""

    GREEN = 0
    YELLOW = 1
    RED = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: object) -> Level:
        """``'red'`` -> ``Level.RED``; raises ``ValueError`` for anything else."""
        if not isinstance(text, str):
            raise ValueError(f"unknown level {text!r}")
        try:
            return cls[text.strip().upper()]
        except (KeyError, AttributeError):
            raise ValueError(f"unknown level {text!r}") from None

    def __str__(self) -> str:
        return self.label


LEVEL_NAMES: tuple[str, ...] = tuple(level.label for level in Level)


class Consultation(enum.IntEnum):
    """How a patient is to be contacted; a higher value is the more demanding contact."""

    NONE = 0
    DIGITAL = 1
    PHONE = 2
    VIDEO = 3
    PHYSICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: object) -> Consultation:
        if not isinstance(text, str):
            raise ValueError(f"unknown consultation {text!r}")
        try:
            return cls[text.strip().upper()]
        except (KeyError, AttributeError):
            raise ValueError(f"unknown consultation {text!r}") from None

    def __str__(self) -> str:
        return self.label


CONSULTATION_NAMES: tuple[str, ...] = tuple(c.label for c in Consultation)
