import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_crm.settings")

app = Celery("clinic_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="clinic_crm.ping", ignore_result=True)
def ping() -> None:
    """Does nothing: shows a worker takes tasks, and is the no-op that the messaging
    benchmark compares the dispatcher's throughput with."""


def queue_after_commit(task, what: str, **kwargs) -> None:
    """Queues ``task`` once the current transaction commits. Only a shortcut: when the
    broker is away it is logged and beat's next run does the work; the change stands."""
    from django.db import transaction

    def enqueue() -> None:
        try:
            task.delay(**kwargs)
        except Exception:  # broker down
            logging.getLogger("clinic_crm.celery").warning(
                "%s not queued; beat will catch up", what, exc_info=True
            )

    transaction.on_commit(enqueue)
