"""The Celery side: the app, the triage task and the periodic jobs."""
