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
