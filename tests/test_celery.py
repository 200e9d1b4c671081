"""Tasks go through the real Redis broker to a real worker process."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from clinic_crm.celery import app
from clinic_crm.staff.tasks import sessions_clear_expired


@pytest.mark.django_db(transaction=True)
def test_expired_sessions_are_cleared_by_the_worker(celery_worker_process):
    live = SessionStore()
    live["x"] = 1
    live.create()
    expired = SessionStore()
    expired["x"] = 2
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    result = sessions_clear_expired.delay()
    assert result.get(timeout=30) == 1
    assert Session.objects.filter(session_key=live.session_key).exists()
    assert not Session.objects.filter(session_key=expired.session_key).exists()


def test_celery_uses_json_and_time_limits():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_time_limit
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.broker_url.startswith("redis://")
    assert "clear-expired-sessions" in app.conf.beat_schedule


def test_a_task_queued_after_commit_does_not_undo_the_change_when_the_broker_is_down(
    db, caplog, django_capture_on_commit_callbacks
):
    """The kick after a commit is a shortcut to beat's next run: a broker error is
    logged, never raised into the request whose change already committed."""
    from clinic_crm.after_commit import queue_after_commit

    class BrokerDown:
        def delay(self, **kwargs):
            raise ConnectionError("redis is away")

    with django_capture_on_commit_callbacks(execute=True):
        queue_after_commit(BrokerDown(), "test kick", patient_id=1)
    assert "test kick not queued; beat will catch up" in caplog.text
