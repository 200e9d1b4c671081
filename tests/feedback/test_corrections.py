"""Staff correcting the reasons found in a comment (feedback.corrections): only active
reasons, the history and the tagger's own answer kept, audited; the endpoint behind the
patient access rule; and the managers' page of how often the tagger agrees with staff."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from feedback.answers import survey_answer_record
from feedback.corrections import response_reasons_correct
from feedback.models import ReasonCorrection, ReasonTag, Response, SurveyInvitation
from feedback.selectors import reason_agreement
from feedback.services import FeedbackError
from tests.conftest import client_for, password_only_client_for
from tests.factories import BranchFactory, PatientFactory
from tests.feedback.factories import answered, completed_visit

pytestmark = pytest.mark.django_db


def _keys(response: Response) -> list[str]:
    return sorted(response.reasons.values_list("key", flat=True))


# --- the service --------------------------------------------------------------------------


def test_the_taggers_answer_is_kept_when_the_comment_is_given_on_the_survey_page(
    clinic, visit_survey
):
    invitation = SurveyInvitation.objects.create(
        patient=clinic.patient,
        visit=completed_visit(clinic),
        survey=visit_survey,
        key="reasons1",
        attribute_keys=["communication"],
        expires_at=timezone.now() + timedelta(days=7),
    )
    first = survey_answer_record(invitation=invitation, nps_score=4)
    assert first.response.tagged_reasons == []
    outcome = survey_answer_record(invitation=invitation, comment="Долго ждала в очереди")
    response = Response.objects.get(pk=outcome.response.pk)
    assert response.tagged_reasons == ["waiting"]
    assert _keys(response) == ["waiting"]


def test_staff_set_the_reasons_and_the_taggers_answer_and_the_history_stay(clinic, visit_survey):
    response = answered(clinic, visit_survey, "Долго ждала, и дорого")
    assert response.tagged_reasons == ["waiting", "price"]

    first = response_reasons_correct(
        actor=clinic.curator, response=response, reason_keys=["waiting"]
    )
    second = response_reasons_correct(
        actor=clinic.doctor, response=response, reason_keys=["waiting", "rudeness", "waiting", " "]
    )

    response.refresh_from_db()
    assert _keys(response) == ["rudeness", "waiting"]
    assert response.tagged_reasons == ["waiting", "price"]
    history = list(response.reason_corrections.order_by("id"))
    assert history == [first, second]
    assert (first.reasons_before, first.reasons_after, first.corrected_by) == (
        ["price", "waiting"],
        ["waiting"],
        clinic.curator,
    )
    assert (second.reasons_before, second.reasons_after, second.corrected_by) == (
        ["waiting"],
        ["rudeness", "waiting"],
        clinic.doctor,
    )
    events = AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_type="feedback.Response", object_id=str(response.pk)
    ).order_by("id")
    assert [(e.actor, e.patient_id, e.details["reasons_after"]) for e in events] == [
        (clinic.curator, clinic.patient.pk, ["waiting"]),
        (clinic.doctor, clinic.patient.pk, ["rudeness", "waiting"]),
    ]


@pytest.mark.parametrize("key", ["parking", "pain"])
def test_a_reason_that_is_not_active_is_refused_and_nothing_is_written(clinic, visit_survey, key):
    ReasonTag.objects.filter(key="pain").update(is_active=False)
    response = answered(clinic, visit_survey, "Долго ждала")
    audited = AuditEvent.objects.count()
    with pytest.raises(FeedbackError, match=f"“{key}” is not one of the active reasons"):
        response_reasons_correct(
            actor=clinic.curator, response=response, reason_keys=["price", key]
        )
    assert _keys(response) == ["waiting"]
    assert not ReasonCorrection.objects.exists()
    assert AuditEvent.objects.count() == audited


def test_no_reason_at_all_is_a_correction_too(clinic, visit_survey):
    response = answered(clinic, visit_survey, "Долго ждала")
    response_reasons_correct(actor=clinic.manager, response=response, reason_keys=[])
    assert _keys(response) == []
    assert ReasonCorrection.objects.get().reasons_after == []


# --- the agreement ------------------------------------------------------------------------


def _score(agreement, key):
    return next(row for row in agreement.reasons if row.key == key)


def test_agreement_per_reason_and_overall_on_a_hand_counted_example(clinic, visit_survey):
    confirmed = answered(clinic, visit_survey, "Долго ждала в очереди", n=1)
    too_many = answered(clinic, visit_survey, "Долго ждала, и дорого", n=2)
    too_few = answered(clinic, visit_survey, "Администратор нагрубила", n=3)
    changed_back = answered(clinic, visit_survey, "Всё хорошо", n=4)
    answered(clinic, visit_survey, "Долго ждала", n=5)  # never corrected: not counted
    before_kept = answered(clinic, visit_survey, "Дорого", n=6)
    Response.objects.filter(pk=before_kept.pk).update(tagged_reasons=None)
    assert [r.tagged_reasons for r in (confirmed, too_many, too_few, changed_back)] == [
        ["waiting"],
        ["waiting", "price"],
        ["rudeness"],
        [],
    ]

    def correct(response, keys):
        response_reasons_correct(actor=clinic.curator, response=response, reason_keys=keys)

    correct(confirmed, ["waiting"])
    correct(too_many, ["waiting"])
    correct(too_few, ["rudeness", "explanation"])
    correct(changed_back, ["price"])
    correct(changed_back, [])  # the latest correction is the staff's answer
    correct(before_kept, ["price"])  # the tagger's answer is not known: left out

    agreement = reason_agreement()
    assert (agreement.responses, agreement.agreed, agreement.share) == (4, 2, 0.5)
    waiting, price = _score(agreement, "waiting"), _score(agreement, "price")
    rudeness, explanation = _score(agreement, "rudeness"), _score(agreement, "explanation")
    pain = _score(agreement, "pain")
    # (changed by staff, staff, tagger, both, precision, recall)
    row = lambda s: (s.corrected, s.staff, s.tagger, s.both, s.precision, s.recall)  # noqa: E731
    assert row(waiting) == (0, 2, 2, 2, 1.0, 1.0)
    assert row(price) == (1, 0, 1, 0, 0.0, None)
    assert row(rudeness) == (0, 1, 1, 1, 1.0, 1.0)
    assert row(explanation) == (1, 1, 0, 0, None, 0.0)
    assert row(pain) == (0, 0, 0, 0, None, None)
    assert [r.key for r in agreement.reasons][:3] == ["waiting", "price", "explanation"]


def test_no_corrections_no_share(visit_survey):
    agreement = reason_agreement()
    assert (agreement.responses, agreement.share) == (0, None)


# --- the correction endpoint --------------------------------------------------------------


def _url(response):
    return reverse("feedback_staff:response_reasons", args=[response.pk])


@pytest.mark.parametrize("role", ["doctor", "curator", "admin", "manager"])
def test_staff_who_may_see_the_patient_correct_and_go_back(clinic, visit_survey, role):
    user = getattr(clinic, role)
    response = answered(clinic, visit_survey, "Долго ждала")
    back = f"/patients/{clinic.patient.pk}/?tab=feedback"
    answer = client_for(user).post(_url(response), {"reasons": ["price", "waiting"], "next": back})
    assert answer.status_code == 302
    assert answer["Location"] == back
    assert _keys(response) == ["price", "waiting"]
    assert ReasonCorrection.objects.get().corrected_by == user
    assert [str(m) for m in get_messages(answer.wsgi_request)] == ["The reasons were saved."]


@pytest.mark.parametrize(
    "hostile",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "/patients/\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_a_next_that_is_not_a_path_here_is_not_followed(clinic, visit_survey, hostile):
    response = answered(clinic, visit_survey, "Долго ждала")
    answer = client_for(clinic.curator).post(
        _url(response), {"reasons": ["waiting"], "next": hostile}
    )
    assert answer.status_code == 302
    assert answer["Location"] == reverse("journeys:timeline", args=[clinic.patient.pk])


def test_an_unknown_reason_is_said_on_the_page_and_nothing_changes(clinic, visit_survey):
    response = answered(clinic, visit_survey, "Долго ждала")
    answer = client_for(clinic.curator).post(
        _url(response), {"reasons": ["waiting", "parking"], "next": "/"}
    )
    assert answer.status_code == 302
    assert [str(m) for m in get_messages(answer.wsgi_request)] == [
        "“parking” is not one of the active reasons."
    ]
    assert not ReasonCorrection.objects.exists()


def test_an_answer_of_a_patient_of_another_branch_not_in_ones_care_is_404(
    clinic, visit_survey, make_staff
):
    other = BranchFactory(name="North")
    stranger = PatientFactory(home_branch=other)
    their_doctor = make_staff(Role.DOCTOR, branch=other)
    response = answered(
        clinic, visit_survey, "Долго ждала", patient=stranger, doctor=their_doctor, branch=other
    )
    for user in (clinic.doctor, clinic.curator, clinic.admin):
        answer = client_for(user).post(_url(response), {"reasons": ["price"], "next": "/"})
        assert answer.status_code == 404
        assert stranger.last_name not in answer.content.decode()
    assert not ReasonCorrection.objects.exists()
    assert _keys(response) == ["waiting"]
    # The manager reads every patient.
    assert client_for(clinic.manager).post(_url(response), {"reasons": []}).status_code == 302


def test_no_role_no_second_factor_or_a_get_change_nothing(clinic, visit_survey, make_staff, client):
    response = answered(clinic, visit_survey, "Долго ждала")
    anonymous = client.post(_url(response), {"reasons": ["price"]})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    no_role = make_staff(Role.DOCTOR)
    no_role.groups.clear()
    assert client_for(no_role).post(_url(response), {"reasons": ["price"]}).status_code == 403
    password_only = password_only_client_for(make_staff(Role.CURATOR))
    answer = password_only.post(_url(response), {"reasons": ["price"]})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/otp/")
    assert client_for(clinic.curator).get(_url(response)).status_code == 405
    assert not ReasonCorrection.objects.exists()


# --- the managers' page -------------------------------------------------------------------

PAGE = "/feedback/reasons/agreement/"


def test_managers_read_the_agreement_and_others_are_refused(clinic, visit_survey):
    response = answered(clinic, visit_survey, "Долго ждала, и дорого")
    response_reasons_correct(actor=clinic.curator, response=response, reason_keys=["waiting"])
    page = client_for(clinic.manager).get(PAGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Staff checked 1 answer; the tagger had found exactly their reasons in 0 (0 %)." in text
    assert 'data-key="price"' in text
    assert "Price and payment" in text
    for user in (clinic.doctor, clinic.curator, clinic.admin):
        assert client_for(user).get(PAGE).status_code == 403


def test_the_page_speaks_russian_and_says_when_there_is_nothing_yet(clinic, visit_survey):
    page = client_for(clinic.manager, "ru").get(PAGE).content.decode()
    assert "Сотрудники ещё не исправляли причины ни одного ответа." in page


def _corrected(clinic, survey, count, start):
    for n in range(start, start + count):
        response = answered(clinic, survey, "", n=n)
        response_reasons_correct(
            actor=clinic.curator, response=response, reason_keys=["waiting"] if n % 2 else []
        )


def test_the_pages_queries_do_not_grow_with_the_corrections(clinic, visit_survey):
    client = client_for(clinic.manager)
    client.get(PAGE)  # the session and the tagger's cache warmed
    counts = []
    for count, start in ((3, 0), (27, 3)):
        _corrected(clinic, visit_survey, count, start)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PAGE).status_code == 200
        counts.append(len(queries))
    assert reason_agreement().responses == 30
    assert counts[0] == counts[1]
