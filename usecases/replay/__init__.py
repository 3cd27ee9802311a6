"""Replaying a draft pathway on the uploads stored in a period (docs/replay.md)."""

from usecases.replay.period import Period, PeriodError, parse_period
from usecases.replay.report import Report
from usecases.replay.run import replay

__all__ = ["Period", "PeriodError", "Report", "parse_period", "replay"]
