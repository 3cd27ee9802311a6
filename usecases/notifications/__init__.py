"""Notifications to the patient (docs/notifications.md): enqueued in the transaction of the
change that causes them (:mod:`.outbox`), delivered by the worker (:mod:`.delivery`), read
by staff (:mod:`.reading`), reminders sent by a periodic run (:mod:`.reminders`)."""

from __future__ import annotations

from usecases.notifications.delivery import deliver_due, deliver_one
from usecases.notifications.outbox import (
    enqueue,
    form_link,
    result_ready,
    task_ready,
)
from usecases.notifications.reading import read_notifications
from usecases.notifications.reminders import ready_tasks, send_reminders

__all__ = [
    "deliver_due",
    "deliver_one",
    "enqueue",
    "form_link",
    "read_notifications",
    "ready_tasks",
    "result_ready",
    "send_reminders",
    "task_ready",
]
