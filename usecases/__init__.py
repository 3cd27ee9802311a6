"""The application layer: what the service does, one use case per module.

``api/`` (HTTP) and ``worker/`` (Celery) are entry points that call these; each use case
owns its transaction (:func:`store.db.session_scope`, the one unit of work) and its
authorization decisions (:mod:`usecases.access`), and speaks in domain terms
(:mod:`usecases.errors`), never in HTTP statuses. Below it: ``store/`` (tables and
queries), ``messaging/`` (handing work to the worker), ``fhir_adapters/`` (FHIR in) and
``triage/`` (the pure engine).

- ``access``: who may see which patient and pathway, and the audit of every read
- ``errors``: why a use case refuses (``Refused`` with FHIR issues, ``Declined``)
- ``ingest/``: a patient app's upload, from FHIR JSON to stored rows and an outbox row
- ``judging/``: the triage job: what an upload is judged with, the results, the worklist item
- ``periodic``: the outbox re-send and overdue responses
- ``publishing``: a pathway version checked, stored, and what is open re-judged
- ``health``: worker heartbeats, for readiness and metrics
- ``fhir_read``: reading FHIR back (by id, vread, ``_history``, search), who may, and the audit
- ``operations``: readiness checks and the database figures ``/metrics`` shows
- ``worklist``: the worklist read, acknowledge, resolve, override; the unrouted list
- ``records``: a patient's record, triage history and a submission's result
- ``enrolments``: enrol, end, list; ``pathways``: the pathways in force, publishing
- ``overview``: everything the clinicians' patient page shows, in one unit of work
"""
