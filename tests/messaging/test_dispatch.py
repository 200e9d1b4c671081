"""The dispatcher: claims due rows, sends them through the channel backend, records the
outcome; guards consent, quiet hours, caps and opt-outs; retries transient failures and
falls back to the next channel on permanent ones; never sends a message twice."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from clinic_crm.messaging.models import (
    UNKNOWN_AFTER_ASKING,
    UNKNOWN_DELIVERY,
    Message,
    MessageKind,
    MessageOptOut,
    MessagingSettings,
    error_text,
)
from clinic_crm.messaging.services.dispatch import messages_dispatch
from clinic_crm.messaging.services.outbox import message_plan, message_retry
from tests.messaging.conftest import book, consent

pytestmark = pytest.mark.django_db


def _visit_tomorrow(clinic, morning, hour=11):
    return book(clinic, starts_at=morning + timedelta(days=1, hours=hour - 10))


def _due_reminder(clinic, morning, time_machine, hour=11):
    """A reminder planned for tomorrow's visit, and the clock moved to its time."""
    visit = _visit_tomorrow(clinic, morning, hour)
    message = Message.objects.get(journey__visit=visit)
    time_machine.move_to(message.scheduled_for, tick=False)
    return message


def test_due_reminder_goes_out_once_by_sms(clinic, morning, providers, time_machine):
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    stats, more = messages_dispatch()
    assert (stats.sent, more) == (1, False)
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.attempts == 1
    assert message.provider_id
    assert message.sent_at == timezone.now()
    [delivered] = providers.accepted
    assert delivered["to"] == clinic.patient.phone
    assert delivered["text"] == message.body
    assert messages_dispatch()[0].claimed == 0  # nothing left: running again does nothing
    assert len(providers.accepted) == 1


def test_nothing_goes_out_before_its_time(clinic, morning, providers):
    consent(clinic.patient)
    _visit_tomorrow(clinic, morning)
    assert messages_dispatch()[0].claimed == 0
    assert providers.requests == []


def test_without_sms_consent_the_patient_gets_it_by_email(clinic, morning, providers, time_machine):
    clinic.patient.email = "anna@example.org"
    clinic.patient.save()
    consent(clinic.patient, channel="email")
    message = _due_reminder(clinic, morning, time_machine)
    messages_dispatch()
    message.refresh_from_db()
    assert (message.status, message.channel) == ("sent", "email")
    assert message.subject  # re-rendered with the email wording
    assert mail.outbox[0].to == ["anna@example.org"]
    assert providers.requests == []


def test_consent_revoked_after_planning_suppresses_the_message(
    clinic, morning, providers, time_machine
):
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    consent(clinic.patient, granted=False, at=timezone.now() - timedelta(minutes=5))
    messages_dispatch()
    message.refresh_from_db()
    assert (message.status, message.suppressed_reason) == ("suppressed", "no_consent")
    assert providers.requests == []


def test_quiet_hours_make_a_message_wait_not_vanish(clinic, morning, providers, time_machine):
    consent(clinic.patient)
    # 22:30 in Moscow; the patient lives in Moscow.
    late = datetime(2026, 12, 1, 19, 30, tzinfo=UTC)
    time_machine.move_to(late, tick=False)
    message = message_plan(
        patient=clinic.patient, kind=MessageKind.FOLLOW_UP, key="follow_up:t1", scheduled_for=late
    )
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "pending"
    assert message.due_at == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 09:00 Moscow
    assert message.attempts == 0
    time_machine.move_to(message.due_at, tick=False)
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "sent"


def test_quiet_hours_that_would_make_a_reminder_too_late_suppress_it(
    clinic, morning, providers, time_machine
):
    consent(clinic.patient)
    config = MessagingSettings.current()
    config.reminder_2h = True
    config.reminder_24h = False
    config.save()
    visit = book(clinic, starts_at=morning + timedelta(days=1, hours=-0.5))  # 09:30 Moscow
    message = Message.objects.get(journey__visit=visit)
    time_machine.move_to(message.scheduled_for, tick=False)  # 07:30 Moscow: quiet
    messages_dispatch()
    message.refresh_from_db()
    assert (message.status, message.suppressed_reason) == ("suppressed", "quiet_hours")


def test_patients_in_another_time_zone_get_their_own_quiet_hours(
    clinic, morning, providers, time_machine
):
    clinic.patient.time_zone = "Asia/Vladivostok"  # 17:00 there when it is 10:00 in Moscow
    clinic.patient.save()
    consent(clinic.patient)
    time_machine.move_to(morning + timedelta(hours=5), tick=False)  # 22:00 in Vladivostok
    message = message_plan(
        patient=clinic.patient, kind=MessageKind.FOLLOW_UP, key="f:tz", scheduled_for=timezone.now()
    )
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "pending"
    assert message.due_at == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # 09:00 Vladivostok


def test_archived_or_deceased_patients_get_nothing(clinic, morning, providers, time_machine):
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    clinic.patient.is_deceased = True
    clinic.patient.save()
    messages_dispatch()
    message.refresh_from_db()
    assert (message.status, message.suppressed_reason) == ("suppressed", "patient_inactive")
    assert providers.requests == []


def test_marketing_needs_marketing_consent_and_respects_opt_out_and_weekly_cap(
    clinic, morning, providers
):
    consent(clinic.patient)  # reminders only
    birthday = message_plan(
        patient=clinic.patient, kind=MessageKind.BIRTHDAY, key="b:1", scheduled_for=morning
    )
    messages_dispatch()
    birthday.refresh_from_db()
    assert birthday.suppressed_reason == "no_consent"

    consent(clinic.patient, kind="marketing")
    MessageOptOut.objects.create(patient=clinic.patient, kind=MessageKind.HOLIDAY)
    holiday = message_plan(
        patient=clinic.patient, kind=MessageKind.HOLIDAY, key="h:1", scheduled_for=morning
    )
    sent = [
        message_plan(
            patient=clinic.patient,
            kind=MessageKind.REACTIVATION,
            key=f"r:{n}",
            scheduled_for=morning,
        )
        for n in range(3)
    ]
    messages_dispatch()
    holiday.refresh_from_db()
    assert holiday.suppressed_reason == "opted_out"
    outcomes = sorted(
        (m.status, m.suppressed_reason) for m in Message.objects.filter(pk__in=[m.pk for m in sent])
    )
    assert outcomes == [("sent", ""), ("sent", ""), ("suppressed", "weekly_cap")]  # cap 2


def test_transient_failure_retries_with_backoff_then_fails_at_the_cap(
    clinic, morning, providers, time_machine
):
    consent(clinic.patient)
    config = MessagingSettings.current()
    config.max_attempts = 3
    config.save()
    message = _due_reminder(clinic, morning, time_machine)
    providers.mode = "fail500"
    delays = []
    for _ in range(3):
        before = timezone.now()
        messages_dispatch()
        message.refresh_from_db()
        if message.status == "pending":
            delays.append(message.due_at - before)
            time_machine.move_to(message.due_at, tick=False)
    assert delays == [timedelta(seconds=60), timedelta(seconds=120)]
    assert message.status == "failed"
    assert message.attempts == 3
    assert "500" in message.last_error


def test_provider_recovers_and_the_retry_goes_through(clinic, morning, providers, time_machine):
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    providers.fail_next(1, "timeout")
    providers.configure(hang_seconds=3)  # the client gives up after 2 s; the SMS went out
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "pending"
    assert "sms" in message.last_error
    time_machine.move_to(message.due_at, tick=False)
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "sent"
    assert Counter(a["id"] for a in providers.accepted) == Counter({str(message.pk): 1})


def test_permanent_failure_falls_back_to_the_next_channel(clinic, morning, providers, time_machine):
    clinic.patient.telegram_chat_id = "4242"
    clinic.patient.save()
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    providers.fail_next(1, "error_json")
    providers.configure(error_code=7)  # SMSC: invalid number
    messages_dispatch()
    message.refresh_from_db()
    assert (message.status, message.channel) == ("sent", "telegram")
    assert "sms" in message.last_error
    assert providers.accepted[0]["to"] == "4242"
    # Re-rendered for Telegram from the journey's rows, which the dispatcher loads only
    # for a message that falls back: still personal, and what went out is what is stored.
    assert message.body in providers.accepted[0]["text"]
    assert clinic.doctor.last_name in message.body


def test_permanent_failure_with_no_other_channel_fails_with_the_reason(
    clinic, morning, providers, time_machine
):
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    providers.mode = "error_json"
    providers.configure(error_code=7)
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "failed"
    assert "7" in message.last_error
    message_retry(message=message, actor=clinic.manager)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 0)


def _on_telegram(patient) -> None:
    patient.preferred_channel = "telegram"
    patient.telegram_chat_id = "4242"
    patient.save()


def _dead_worker(message, *, sent: bool, backend_channel="sms"):
    """What a worker killed mid-batch leaves behind: the claim, and for the message it was
    sending, the attempt mark (and, if the request got out, the provider's copy)."""
    from clinic_crm.messaging.backends import backend_for
    from clinic_crm.messaging.backends.base import OutboundMessage
    from clinic_crm.messaging.services.claims import messages_claim

    messages_claim(limit=10)
    if sent:
        Message.objects.filter(pk=message.pk).update(attempt_started_at=timezone.now())
        backend_for(backend_channel).send(
            OutboundMessage(
                message.pk, message.idempotency_key, backend_channel, message.patient.phone, "", "x"
            )
        )


def _after_lease(time_machine, settings, extra=1):
    time_machine.move_to(
        timezone.now() + timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS + extra),
        tick=False,
    )


def test_a_send_cut_off_inside_the_providers_window_is_repeated_and_deduplicated(
    clinic, morning, providers, time_machine, settings
):
    settings.MESSAGING_SEND_LEASE_SECONDS = 20  # well inside SMSC's one-minute window
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    _dead_worker(message, sent=True)
    assert messages_dispatch()[0].claimed == 0  # its lease still holds
    _after_lease(time_machine, settings)
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.attempt_started_at is None
    assert len(providers.requests) == 2
    assert providers.accepted_count() == 1


def _past_the_window(time_machine, settings):
    """Later than the lease and SMSC's one-minute duplicate window: a repeat now could be
    a second SMS."""
    _after_lease(time_machine, settings, extra=settings.SMSC_DUPLICATE_WINDOW_SECONDS)


def test_a_send_cut_off_past_the_providers_window_that_reached_it_is_recorded_as_sent(
    clinic, morning, providers, time_machine, settings
):
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    _dead_worker(message, sent=True)
    _past_the_window(time_machine, settings)
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.provider_id == str(message.pk)
    assert message.attempt_started_at is None
    assert providers.accepted_count() == 1
    assert len(providers.send_requests()) == 1  # asked, not sent again
    (look_up,) = providers.status_requests()
    assert look_up["fields"]["id"] == str(message.pk)
    assert look_up["fields"]["phone"] == clinic.patient.phone


def test_a_send_cut_off_past_the_window_that_never_reached_the_provider_goes_once(
    clinic, morning, providers, time_machine, settings
):
    """The worker died after marking the attempt, before the request left: the provider
    says "not found", so the message goes now, once."""
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    _dead_worker(message, sent=False)
    Message.objects.filter(pk=message.pk).update(attempt_started_at=timezone.now())
    _past_the_window(time_machine, settings)
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(providers.status_requests()) == 1
    assert len(providers.send_requests()) == 1
    assert providers.accepted_count() == 1


def test_a_provider_that_cant_be_asked_is_asked_again_and_the_message_fails_only_at_the_end(
    clinic, morning, providers, time_machine, settings
):
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    _dead_worker(message, sent=True)
    _past_the_window(time_machine, settings)
    providers.mode = "fail500"  # the status interface answers 500 too
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "pending"  # not guessed either way
    assert message.attempt_started_at is not None
    assert "SMSC status HTTP 500" in message.last_error
    config = MessagingSettings.current()
    for _ in range(config.max_attempts):
        time_machine.move_to(message.due_at + timedelta(seconds=1), tick=False)
        messages_dispatch()
        message.refresh_from_db()
        if message.status != "pending":
            break
    assert message.status == "failed"
    assert "Delivery unknown" in message.last_error
    assert "could not be asked" in message.last_error
    assert providers.accepted_count() == 1
    assert len(providers.send_requests()) == 1


def test_a_telegram_send_cut_off_by_a_dead_worker_is_not_guessed(
    clinic, morning, providers, time_machine, settings
):
    """Telegram has no duplicate window and no status interface: the message fails for
    staff to check rather than risk a second copy."""
    _on_telegram(clinic.patient)
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    _dead_worker(message, sent=True, backend_channel="telegram")
    _after_lease(time_machine, settings)
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "failed"
    assert "Delivery unknown" in message.last_error
    assert providers.accepted_count() == 1


def test_messages_a_dead_worker_never_started_are_sent_after_its_lease(
    clinic, morning, providers, time_machine, settings
):
    _on_telegram(clinic.patient)
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    _dead_worker(message, sent=False)
    _after_lease(time_machine, settings)
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "sent"
    assert providers.accepted_count() == 1


def test_a_telegram_answer_that_times_out_is_not_sent_again(
    clinic, morning, providers, time_machine
):
    _on_telegram(clinic.patient)
    consent(clinic.patient)
    message = _due_reminder(clinic, morning, time_machine)
    providers.fail_next(1, "timeout")
    providers.configure(hang_seconds=3)  # Telegram delivered it; the answer never came
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "failed"
    assert "Delivery unknown" in message.last_error
    assert providers.accepted_count() == 1


def _due_follow_ups(clinic, morning, count):
    from tests.factories import PatientFactory

    for patient in PatientFactory.create_batch(count, home_branch=clinic.branch):
        consent(patient)
        message_plan(
            patient=patient,
            kind=MessageKind.FOLLOW_UP,
            key=f"follow_up:{patient.pk}",
            scheduled_for=morning,
        )


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_each_message_once(clinic, morning, providers):
    _due_follow_ups(clinic, morning, 60)
    providers.configure(mode="slow", delay=0.005)
    errors = []

    def run():
        try:
            messages_dispatch(batch_size=7)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Counter(Message.objects.values_list("status", flat=True)) == {"sent": 60}
    ids = Counter(a["id"] for a in providers.accepted)
    assert len(ids) == 60
    assert set(ids.values()) == {1}
    assert len(providers.requests) == 60  # not one request more


def test_a_batch_costs_the_same_queries_whatever_its_size(clinic, morning, providers, settings):
    """Claim, fetch with the patients and visits, consents, opt-outs and weekly counts,
    one mark per group of concurrent calls, one write of all outcomes: no query per
    message."""
    settings.MESSAGING_SEND_CONCURRENCY = 50  # one group for either batch
    counts = []
    MessagingSettings.current()  # read once, then cached for a while
    for size in (3, 12):
        _due_follow_ups(clinic, morning, size)
        with CaptureQueriesContext(connection) as captured:
            stats, _more = messages_dispatch()
        assert stats.sent == size
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_stored_failure_texts_read_in_the_readers_language():
    """The dispatcher stores its own failure texts in English; the outbox page and the
    timeline show them in the reader's language, with the provider's reason kept."""
    asked = UNKNOWN_AFTER_ASKING.format(reason="sms: timed out")
    with translation.override("ru"):
        assert error_text(UNKNOWN_DELIVERY).startswith("Доставка неизвестна")
        assert error_text(asked).startswith("Доставка неизвестна")
        assert "(sms: timed out)" in error_text(asked)
        assert error_text("sms: invalid number") == "sms: invalid number"
    with translation.override("en"):
        assert error_text(asked) == asked
