"""The outbox: bookings plan reminders in their own transaction, moves re-plan them,
cancellations and completions suppress them, and the text is about this patient's visit."""

from datetime import timedelta

import pytest
from django.db import transaction

from clinic_crm.messaging.models import Message, MessageKind, SuppressReason
from journeys.services.messages import visit_messages_sync
from journeys.services.visit_status import visit_cancel, visit_transition
from journeys.services.visits import visit_move
from tests.messaging.conftest import book

pytestmark = pytest.mark.django_db


def _tomorrow(morning, hour):
    # 1 Dec 10:00 Moscow is 07:00 UTC; the next day's HH:00 Moscow is (HH-3):00 UTC.
    return morning + timedelta(days=1, hours=hour - 10)


def test_booking_plans_a_personal_reminder_a_day_before(clinic, morning, providers):
    clinic.branch.address = "Moscow, Tverskaya 7"
    clinic.branch.directions = "Parking in the courtyard, gate from Gazetny lane."
    clinic.branch.save()
    clinic.service.preparation = "Brush your teeth; no coffee for an hour before."
    clinic.service.save()
    clinic.doctor.first_name, clinic.doctor.last_name = "Irina", "Volkova"
    clinic.doctor.save()
    clinic.doctor.profile.short_bio = "Orthodontist, 12 years with braces for adults."
    clinic.doctor.profile.save()
    clinic.patient.preferred_language = "en"
    clinic.patient.first_name = "Anna"
    clinic.patient.save()
    visit = book(clinic, starts_at=_tomorrow(morning, 11))

    message = Message.objects.get(journey__visit=visit)
    assert message.kind == MessageKind.REMINDER
    assert message.status == Message.Status.PENDING
    assert message.scheduled_for == visit.starts_at - timedelta(hours=24)
    assert message.channel == "sms"
    assert message.idempotency_key == f"reminder:visit:{visit.pk}:24h:20261202T0800"
    # SMS has its own short wording: who, when, where.
    assert "Anna" in message.body
    assert "11:00" in message.body
    assert "Tverskaya 7" in message.body
    assert "Irina Volkova" in message.body


def test_email_reminder_says_who_why_how_to_prepare_and_where_to_park(clinic, morning, providers):
    clinic.patient.preferred_channel = "email"
    clinic.patient.email = "anna@example.org"
    clinic.patient.preferred_language = "en"
    clinic.patient.save()
    clinic.branch.directions = "Parking in the courtyard."
    clinic.branch.save()
    clinic.service.preparation = "No coffee for an hour before."
    clinic.service.save()
    clinic.doctor.profile.short_bio = "Orthodontist, 12 years with braces for adults."
    clinic.doctor.profile.save()
    visit = book(clinic, starts_at=_tomorrow(morning, 11))
    message = Message.objects.get(journey__visit=visit)
    assert message.channel == "email"
    assert message.subject.startswith("Your visit on")
    for fact in (
        "Orthodontist, 12 years",
        "No coffee for an hour before.",
        "Parking in the courtyard.",
        "Orthodontics",
        "https://crm.example/",
    ):
        assert fact in message.body


def test_reminder_rows_commit_or_roll_back_with_the_booking(clinic, morning, providers):
    class Boom(Exception):
        pass

    def book_then_fail():
        with transaction.atomic():
            book(clinic, starts_at=_tomorrow(morning, 11))
            assert Message.objects.count() == 1
            raise Boom  # the booking's transaction fails after the reminder was planned

    with pytest.raises(Boom):
        book_then_fail()
    assert Message.objects.count() == 0


def test_planning_again_writes_nothing_new(clinic, morning, providers):
    visit = book(clinic, starts_at=_tomorrow(morning, 11))
    visit_messages_sync(visit=visit)
    visit_messages_sync(visit=visit)
    assert Message.objects.filter(journey__visit=visit).count() == 1


def test_planning_a_key_again_reads_no_journey_rows_and_writes_nothing(clinic, morning, providers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from journeys.models import JourneyMessage, Visit
    from journeys.services.messages import visit_reminders_plan

    visit = Visit.objects.get(pk=book(clinic, starts_at=_tomorrow(morning, 11)).pk)
    with CaptureQueriesContext(connection) as queries:
        visit_reminders_plan(visit=visit)
    statements = [q["sql"] for q in queries.captured_queries]
    assert all(sql.startswith("SELECT") for sql in statements), statements
    # The existing row is looked up; no facts (doctor, branch, service) are read.
    facts_tables = (
        '"staff_user"',
        '"staff_staffprofile"',
        '"journeys_branch"',
        '"journeys_service"',
    )
    assert not [sql for sql in statements if any(t in sql for t in facts_tables)], statements
    assert not [sql for sql in statements if '"journeys_journeymessage"' in sql], statements
    assert JourneyMessage.objects.filter(visit=visit).count() == 1


def test_moving_a_visit_replans_its_reminder(clinic, morning, providers):
    visit = book(clinic, starts_at=_tomorrow(morning, 11))
    old = Message.objects.get(journey__visit=visit)
    visit_move(actor=clinic.admin, visit=visit, starts_at=_tomorrow(morning, 15))
    old.refresh_from_db()
    assert (old.status, old.suppressed_reason) == ("suppressed", SuppressReason.VISIT_MOVED)
    new = Message.objects.get(journey__visit=visit, status="pending")
    assert new.scheduled_for == visit.starts_at - timedelta(hours=24)
    assert "15:00" in new.body


def test_cancelling_and_arrival_suppress_what_is_no_longer_true(
    clinic, morning, providers, time_machine
):
    first = book(clinic, starts_at=_tomorrow(morning, 11))
    second = book(clinic, starts_at=_tomorrow(morning, 12))
    visit_cancel(actor=clinic.admin, visit=first, by_patient=True, reason="Feels better")
    assert (
        Message.objects.get(journey__visit=first).suppressed_reason
        == SuppressReason.VISIT_CANCELLED
    )
    visit_transition(actor=clinic.admin, visit=second, to_status="confirmed")
    assert Message.objects.get(journey__visit=second).status == "pending"  # still coming
    time_machine.move_to(second.starts_at - timedelta(minutes=10), tick=False)
    visit_transition(actor=clinic.admin, visit=second, to_status="arrived")
    assert Message.objects.get(journey__visit=second).suppressed_reason == SuppressReason.VISIT_OVER


def test_a_visit_booked_for_this_afternoon_gets_its_reminder_now(clinic, morning, providers):
    visit = book(clinic, starts_at=morning + timedelta(hours=5))
    message = Message.objects.get(journey__visit=visit)
    assert message.scheduled_for == morning
    assert "reminder:visit" in message.idempotency_key


def test_a_visit_within_the_hour_gets_no_reminder(clinic, morning, providers):
    visit = book(clinic, starts_at=morning + timedelta(minutes=40))
    assert not Message.objects.filter(journey__visit=visit).exists()


def test_patient_without_phone_email_or_telegram_gets_a_suppressed_row(clinic, morning, providers):
    clinic.patient.phone = ""
    clinic.patient.save()
    visit = book(clinic, starts_at=_tomorrow(morning, 11))
    message = Message.objects.get(journey__visit=visit)
    assert (message.status, message.suppressed_reason) == ("suppressed", "no_contact")


def test_two_hour_reminder_when_the_clinic_switches_it_on(clinic, morning, providers):
    from clinic_crm.messaging.models import MessagingSettings

    config = MessagingSettings.current()
    config.reminder_2h = True
    config.save()
    visit = book(clinic, starts_at=_tomorrow(morning, 11))
    assert sorted(
        Message.objects.filter(journey__visit=visit).values_list("scheduled_for", flat=True)
    ) == [
        visit.starts_at - timedelta(hours=24),
        visit.starts_at - timedelta(hours=2),
    ]
