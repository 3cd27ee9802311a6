"""Small read-only views of FHIR references."""

from __future__ import annotations

import re

__all__ = ["reference_id"]

# FHIR R4 Reference.reference: optional absolute base, Type/id, optional /_history/version.
_REFERENCE = re.compile(
    r"(?:https?://[^\s?#]+/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


def reference_id(reference: str, resource_type: str) -> str | None:
    """The id in ``reference`` when it points at a ``resource_type``, else None.

    ``"Patient/abc"``, ``"https://host/fhir/Patient/abc"`` and ``"Patient/abc/_history/2"``
    give ``"abc"`` for ``"Patient"``; a contained (``#p1``) or ``urn:uuid:`` reference, another
    type, a search URL or anything malformed gives None.
    """
    if not isinstance(reference, str):
        return None
    match = _REFERENCE.fullmatch(reference.strip())
    if match is None or match.group("type") != resource_type:
        return None
    return match.group("id")
