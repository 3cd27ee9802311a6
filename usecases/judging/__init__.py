"""The triage job: route an upload, judge it as of its own time, store the results and
keep the worklist item (its level held until a clinician acts)."""
