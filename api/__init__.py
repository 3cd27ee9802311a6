"""The HTTP service: FHIR in (``/fhir``), worklists and administration out (``/api``)."""
