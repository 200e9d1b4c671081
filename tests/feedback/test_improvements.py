"""“You said, we did”: managers record what the clinic changed after feedback; the public
page lists what is public and nothing about any patient; announcing an improvement plans
one message per patient whose negative feedback gave a reason it answers, once, and the
outbox's guards decide at sending time (consent, opt-out) as for any non-urgent message."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib import admin
from django.core import mail
from django.test import RequestFactory

from clinic_crm.messaging.models import Message, MessageKind, MessageOptOut
from clinic_crm.messaging.rendering import template_check
from clinic_crm.messaging.services.dispatch import messages_dispatch
from clinic_crm.staff.roles import Role
from feedback import improvements, tasks_improvements
from feedback.admin_improvements import ImprovementAdmin
from feedback.improvements import ImprovementError, improvement_announce
from feedback.message_texts_improvements import WORDINGS
from feedback.models import Improvement, ReasonTag, Response
from patients.models import ConsentRecord
from tests.conftest import client_for
from tests.factories import BranchFactory, PatientFactory
from tests.feedback.factories import MORNING
from tests.feedback.factories import answered as answered_on_day

pytestmark = pytest.mark.django_db

# 11:00 in Moscow on MORNING's day: when non-urgent messages go out (MessagingSettings).
SEND_AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
WAITING = "ждала в очереди час"  # the tagger's "waiting"
PRICE = "слишком дорого"  # the tagger's "price"
_days = itertools.count(1)
_emails = itertools.count(1)


def answered(clinic, survey, comment, **fields) -> Response:
    """A response about a visit on a day of its own (the doctor is never double-booked)."""
    return answered_on_day(clinic, survey, comment, n=next(_days), **fields)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(MORNING, tick=False)
    return MORNING


@pytest.fixture
def email(settings):
    settings.MESSAGING_EMAIL_BACKEND = "smtp"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_BASE_URL = "https://clinic.example.ru"


def patient(clinic, *, consents: bool = True, **fields):
    """A patient reachable by email who agreed to reminders (unless told not)."""
    found = PatientFactory(
        home_branch=clinic.branch,
        email=f"patient{next(_emails)}@example.com",
        preferred_channel="email",
        **fields,
    )
    if consents:
        ConsentRecord.objects.create(
            patient=found,
            kind="reminders",
            channel="any",
            granted=True,
            recorded_at=MORNING - timedelta(days=30),
        )
    return found


def improvement(*, reasons=("waiting",), branch=None, is_public=True, **fields) -> Improvement:
    made = Improvement.objects.create(
        title=fields.pop("title", "Электронная очередь"),
        description=fields.pop("description", "Приём начинается в назначенное время."),
        changed_on=fields.pop("changed_on", date(2026, 11, 20)),
        branch=branch,
        is_public=is_public,
        **fields,
    )
    made.reasons.set(ReasonTag.objects.filter(key__in=reasons))
    return made


def we_did_messages():
    return Message.objects.filter(kind=MessageKind.WE_DID)


# --- The public page --------------------------------------------------------------------


def test_the_public_page_lists_only_public_improvements_newest_first(
    client, visit_survey, django_assert_max_num_queries
):
    older = improvement(title="Кулер с водой в холле", changed_on=date(2026, 9, 1))
    newer = improvement(title="Электронная очередь", changed_on=date(2026, 11, 20))
    improvement(title="Черновик: новая парковка", is_public=False)
    with django_assert_max_num_queries(5):
        page = client.get("/we-did/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Вы сказали — мы сделали" in html
    assert "Черновик" not in html
    assert html.index(newer.title) < html.index(older.title)
    assert "Долгое ожидание" in html  # what patients said: the reason it answers
    assert page["Content-Language"] == "ru"


def test_a_branchs_page_shows_its_own_and_the_whole_clinics_but_no_other_branchs(
    client, clinic, visit_survey
):
    other = BranchFactory(name="North")
    improvement(title="Пандус у входа", branch=clinic.branch)
    improvement(title="Электронная очередь")  # the whole clinic
    improvement(title="Новые кресла", branch=other)
    html = client.get(f"/we-did/{clinic.branch.pk}/").content.decode()
    assert "Пандус у входа" in html
    assert "Электронная очередь" in html
    assert "Новые кресла" not in html
    everything = client.get("/we-did/").content.decode()
    assert "Новые кресла" in everything
    assert "Пандус у входа" in everything
    assert client.get("/we-did/999999/").status_code == 404


def test_the_page_speaks_english_when_asked(client, visit_survey):
    improvement(title="Электронная очередь", title_en="An electronic queue")
    improvement(title="Только по-русски")
    page = client.get("/we-did/?lang=en")
    html = page.content.decode()
    assert page["Content-Language"] == "en"
    assert "You said, we did" in html
    assert "An electronic queue" in html
    assert "Только по-русски" in html  # no English title: the Russian one
    assert "Long wait" in html
    assert 'href="?lang=ru"' in html


def test_the_public_page_shows_no_patient_data(client, clinic, visit_survey, now):
    clinic.patient.first_name, clinic.patient.last_name = "Евдокия", "Простоквашина"
    clinic.patient.save()
    response = answered(clinic, visit_survey, "ждала в очереди час, Простоквашина", nps_score=2)
    improvement()
    html = client.get("/we-did/").content.decode()
    assert "Электронная очередь" in html
    for private in (
        clinic.patient.first_name,
        clinic.patient.last_name,
        clinic.patient.phone,
        clinic.doctor.last_name,
        response.comment,
        "ждала",
    ):
        assert private not in html


def test_titles_and_descriptions_are_escaped(client, visit_survey):
    improvement(title="<script>alert(1)</script>", description="<b>жирно</b>\nвторая строка")
    html = client.get("/we-did/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;жирно&lt;/b&gt;<br>вторая строка" in html


def test_the_page_needs_no_login(client, visit_survey):
    assert client.get("/we-did/").status_code == 200
    assert client.post("/we-did/").status_code == 405


# --- Telling the patients ---------------------------------------------------------------


def test_announcing_plans_one_message_per_patient_whose_negative_feedback_it_answers(
    clinic, visit_survey, now
):
    other_branch = BranchFactory(name="North")
    told = patient(clinic)
    answered(clinic, visit_survey, WAITING, nps_score=3, patient=told)
    answered(clinic, visit_survey, "снова долго ждала", nps_score=4, patient=told)
    happy = patient(clinic)
    answered(clinic, visit_survey, WAITING, nps_score=9, patient=happy)  # a promoter
    pricey = patient(clinic)
    answered(clinic, visit_survey, PRICE, nps_score=2, patient=pricey)  # another reason
    elsewhere = patient(clinic)
    answered(clinic, visit_survey, WAITING, nps_score=2, patient=elsewhere, branch=other_branch)
    long_ago = patient(clinic)
    old = answered(clinic, visit_survey, WAITING, nps_score=2, patient=long_ago)
    Response.objects.filter(pk=old.pk).update(submitted_at=MORNING - timedelta(days=366))

    queue = improvement(branch=clinic.branch)
    outcome = improvement_announce(actor=clinic.manager, improvement=queue)

    assert (outcome.waiting, outcome.planned, outcome.queued) == (1, 1, False)
    [message] = we_did_messages()
    assert message.patient == told
    assert message.idempotency_key == f"we_did:improvement:{queue.pk}:patient:{told.pk}"
    assert message.status == "pending"
    assert message.scheduled_for == SEND_AT  # the clinic's hour for non-urgent messages
    queue.refresh_from_db()
    assert queue.announced_at == MORNING


def test_an_improvement_for_the_whole_clinic_reaches_every_branch(clinic, visit_survey, now):
    here, there = patient(clinic), patient(clinic)
    answered(clinic, visit_survey, WAITING, nps_score=3, patient=here)
    answered(clinic, visit_survey, WAITING, nps_score=3, patient=there, branch=BranchFactory())
    improvement_announce(actor=clinic.manager, improvement=improvement())
    assert set(we_did_messages().values_list("patient", flat=True)) == {here.pk, there.pk}


def test_announcing_twice_plans_nothing_new(clinic, visit_survey, now, time_machine):
    answered(clinic, visit_survey, WAITING, nps_score=3, patient=patient(clinic))
    queue = improvement()
    improvement_announce(actor=clinic.manager, improvement=queue)
    queue.refresh_from_db()
    first_told = queue.announced_at
    time_machine.move_to(MORNING + timedelta(days=1), tick=False)
    answered(clinic, visit_survey, WAITING, nps_score=3, patient=patient(clinic))

    again = improvement_announce(actor=clinic.manager, improvement=queue)

    assert (again.waiting, again.planned) == (0, 0)
    assert we_did_messages().count() == 1
    queue.refresh_from_db()
    assert queue.announced_at == first_told


def test_the_message_says_what_changed_links_the_page_and_carries_the_optout(
    clinic, visit_survey, now, email, time_machine
):
    told = patient(clinic)
    answered(clinic, visit_survey, WAITING, nps_score=3, patient=told)
    queue = improvement(branch=clinic.branch)
    improvement_announce(actor=clinic.manager, improvement=queue)
    message = we_did_messages().get()
    assert message.language == "ru"
    assert "Электронная очередь" in message.body
    page_url = (
        f"https://clinic.example.ru/we-did/{clinic.branch.pk}/?lang=ru#improvement-{queue.pk}"
    )
    assert page_url in message.body
    assert "/p/optout/" in message.body  # non-urgent: the one-click opt-out

    time_machine.move_to(SEND_AT + timedelta(minutes=1), tick=False)
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "sent"
    [sent] = mail.outbox
    assert sent.subject == "Вы сказали — мы сделали"
    assert page_url in sent.body
    assert "/p/optout/" in sent.body


def test_the_outbox_decides_who_may_get_it(clinic, visit_survey, now, email, time_machine):
    """Consent (reminders), opt-outs and inactive patients are the outbox's rules: the
    announcement only plans, and the rows say why nothing went out."""
    agreed = patient(clinic)
    never_agreed = patient(clinic, consents=False)
    opted_out = patient(clinic)
    archived = patient(clinic)
    for someone in (agreed, never_agreed, opted_out, archived):
        answered(clinic, visit_survey, WAITING, nps_score=3, patient=someone)
    MessageOptOut.objects.create(patient=opted_out, kind=MessageKind.WE_DID)
    archived.is_archived = True
    archived.save()

    improvement_announce(actor=clinic.manager, improvement=improvement())
    time_machine.move_to(SEND_AT + timedelta(minutes=1), tick=False)
    messages_dispatch()

    outcomes = {
        m.patient_id: (m.status, m.suppressed_reason)
        for m in we_did_messages().order_by("patient_id")
    }
    assert outcomes == {
        agreed.pk: ("sent", ""),
        never_agreed.pk: ("suppressed", "no_consent"),
        opted_out.pk: ("suppressed", "opted_out"),
        archived.pk: ("suppressed", "patient_inactive"),
    }


def test_a_patient_who_speaks_english_is_told_in_english(clinic, visit_survey, now):
    answered(
        clinic, visit_survey, WAITING, nps_score=3, patient=patient(clinic, preferred_language="en")
    )
    improvement_announce(
        actor=clinic.manager, improvement=improvement(title_en="An electronic queue")
    )
    message = we_did_messages().get()
    assert message.subject == "You said, we did"
    assert "We have changed this: An electronic queue" in message.body
    assert "?lang=en" in message.body


def test_an_improvement_that_is_not_public_or_answers_no_reason_is_not_announced(
    clinic, visit_survey, now
):
    answered(clinic, visit_survey, WAITING, nps_score=3, patient=patient(clinic))
    with pytest.raises(ImprovementError, match="not public"):
        improvement_announce(actor=clinic.manager, improvement=improvement(is_public=False))
    with pytest.raises(ImprovementError, match="answers no reason"):
        improvement_announce(actor=clinic.manager, improvement=improvement(reasons=()))
    assert not we_did_messages().exists()
    assert not Improvement.objects.filter(announced_at__isnull=False).exists()


def test_no_one_to_tell_leaves_the_improvement_unannounced(clinic, visit_survey, now):
    queue = improvement()
    outcome = improvement_announce(actor=clinic.manager, improvement=queue)
    assert outcome.waiting == 0
    queue.refresh_from_db()
    assert queue.announced_at is None


def test_a_large_audience_is_planned_by_the_task_in_batches(
    clinic, visit_survey, now, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(improvements, "INLINE_MAX", 2)
    monkeypatch.setattr(improvements, "PLAN_BATCH", 2)
    patients = [patient(clinic) for _ in range(5)]
    for someone in patients:
        answered(clinic, visit_survey, WAITING, nps_score=3, patient=someone)
    queue = improvement()
    queued = []
    monkeypatch.setattr(
        tasks_improvements.improvement_messages_plan_task,
        "delay",
        lambda **kwargs: queued.append(kwargs),
    )
    with django_capture_on_commit_callbacks(execute=True):
        outcome = improvement_announce(actor=clinic.manager, improvement=queue)
    assert (outcome.waiting, outcome.planned, outcome.queued) == (5, 0, True)
    assert queued == [{"improvement_id": queue.pk}]
    assert not we_did_messages().exists()

    # A run that must stop after its first batch says more is left…
    assert improvements.improvement_messages_plan(improvement_id=queue.pk, max_seconds=0)
    assert we_did_messages().count() == 2
    # …and the task plans the rest, once.
    tasks_improvements.improvement_messages_plan_task(improvement_id=queue.pk)
    tasks_improvements.improvement_messages_plan_task(improvement_id=queue.pk)
    assert sorted(we_did_messages().values_list("patient", flat=True)) == [p.pk for p in patients]
    # A deleted improvement: the task returns quietly.
    tasks_improvements.improvement_messages_plan_task(improvement_id=queue.pk + 1000)


def test_finding_the_patients_is_one_query_whatever_their_number(
    clinic, visit_survey, now, django_assert_num_queries
):
    for _ in range(4):
        answered(clinic, visit_survey, WAITING, nps_score=3, patient=patient(clinic))
    queue = improvement()
    with django_assert_num_queries(1):
        assert len(list(improvements.improvement_audience(queue))) == 4


def test_the_wordings_pass_the_template_check():
    assert {(lang, channel) for _kind, lang, channel in WORDINGS} == {
        ("ru", ""),
        ("en", ""),
        ("ru", "sms"),
        ("en", "sms"),
    }
    for wording in WORDINGS.values():
        template_check(subject=wording.subject, body=wording.body)
        assert "optout_url" in wording.body


# --- The admin --------------------------------------------------------------------------


def _action_request(user):
    request = RequestFactory().get("/admin/feedback/improvement/")
    request.user = user
    return request


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.MANAGER, True),
        (Role.DOCTOR, False),
        (Role.CURATOR, False),
        (Role.ADMINISTRATOR, False),
    ],
)
def test_only_managers_may_record_improvements_and_tell_the_patients(make_staff, role, allowed):
    user = make_staff(role)
    model_admin = ImprovementAdmin(Improvement, admin.site)
    assert ("announce" in model_admin.get_actions(_action_request(user))) is allowed
    assert user.has_perm("feedback.add_improvement") is allowed
    assert model_admin.has_announce_permission(_action_request(user)) is allowed


def test_the_admin_asks_first_showing_how_many_patients_then_tells_them(
    clinic, visit_survey, now, manager
):
    for _ in range(2):
        answered(clinic, visit_survey, WAITING, nps_score=3, patient=patient(clinic))
    queue = improvement(title="Электронная очередь")
    client = client_for(manager, language="ru")
    url = "/admin/feedback/improvement/"
    asked = client.post(url, {"action": "announce", "_selected_action": [queue.pk]})
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "«Электронная очередь»: 2 пациента" in html
    assert not we_did_messages().exists()  # nothing happens before the confirmation

    done = client.post(
        url, {"action": "announce", "_selected_action": [queue.pk], "confirmed": "yes"}
    )
    assert done.status_code == 302
    assert we_did_messages().count() == 2
    listing = client.get(url).content.decode()
    assert "2 пациентам" in listing


def test_a_doctor_gets_no_improvements_admin(make_staff):
    doctor = make_staff(Role.DOCTOR)
    answer = client_for(doctor).post(
        "/admin/feedback/improvement/", {"action": "announce", "_selected_action": [1]}
    )
    assert answer.status_code in (302, 403)
    assert not we_did_messages().exists()


def test_the_admin_records_who_wrote_it(clinic, visit_survey, manager):
    client = client_for(manager)
    waiting = ReasonTag.objects.get(key="waiting")
    answer = client.post(
        "/admin/feedback/improvement/add/",
        {
            "title": "Электронная очередь",
            "title_en": "",
            "description": "Приём начинается вовремя.",
            "description_en": "",
            "changed_on": "2026-11-20",
            "reasons": [waiting.pk],
            "branch": "",
            "is_public": "on",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[-3000:]
    made = Improvement.objects.get()
    assert made.created_by == manager
    assert list(made.reasons.all()) == [waiting]
