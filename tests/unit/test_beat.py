"""The scheduler's periodic tasks: a run that waited a whole interval in the queue (no worker
was up) is dropped, not piled up; the next tick does the same work, as each run does all."""

from __future__ import annotations

import datetime as dt

from celery.beat import ScheduleEntry

from messaging.celery_app import make_celery
from runtime.settings import Settings


def test_every_periodic_task_expires_within_its_own_interval() -> None:
    settings = Settings(environment="development", outbox_resend_seconds=30)
    app = make_celery(settings)
    schedule = app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} == {
        "worker.tasks.resend_outbox",
        "worker.tasks.mark_overdue",
        "worker.tasks.create_form_tasks",
        "worker.tasks.refresh_statistics",
        "worker.tasks.deliver_notifications",
        "worker.tasks.send_reminders",
    }
    for name, config in schedule.items():
        entry = ScheduleEntry(name=name, app=app, **config)
        every = entry.schedule.run_every
        assert isinstance(every, dt.timedelta)
        assert 0 < entry.options["expires"] <= every.total_seconds(), name
    assert schedule["resend-outbox"]["options"]["expires"] == 30
