"""Between the processes: the Celery app and its task names (:mod:`messaging.celery_app`),
the embedded broker (:mod:`messaging.broker`), and handing committed outbox rows to the
broker (:mod:`messaging.dispatch`). Senders name tasks; only ``worker/`` defines them."""
