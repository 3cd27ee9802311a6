"""Every HTTP response of the attack suite's session, for the "no 5xx anywhere" check (the
session-wide ``recorder`` fixture in conftest.py fails the session on any)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class Seen:
    test: str
    method: str
    url: str
    status: int


@dataclass
class Recorder:
    current: str = "(session set-up)"
    seen: list[Seen] = field(default_factory=list)

    def hook(self, response: httpx.Response) -> None:
        request = response.request
        self.seen.append(Seen(self.current, request.method, str(request.url), response.status_code))

    def server_errors(self) -> list[Seen]:
        return [s for s in self.seen if s.status >= 500]
