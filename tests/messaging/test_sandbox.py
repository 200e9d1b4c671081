"""Message templates are compiled and rendered in a sandbox: only the documented
variables (a name and one documented attribute), the ``if`` tag and a few text filters.
Anything else is refused with its name on save and in the live preview, and the
dispatcher's rendering uses the same engine."""

import pytest
from django.core.exceptions import ValidationError
from django.template import TemplateSyntaxError

from clinic_crm.messaging.models import MessageKind, MessageTemplate
from clinic_crm.messaging.rendering import (
    DEFAULT_TEMPLATES,
    EXAMPLE_CONTEXT,
    Wording,
    render,
    template_check,
    wording_for,
)
from tests.conftest import verified_client_for

pytestmark = pytest.mark.django_db

# (template body, what the refusal must name)
REFUSED = [
    ("{% debug %}", "debug"),
    ('{% include "x" %}', "include"),
    ("{% load i18n %}", "load"),
    ('{% extends "base.html" %}', "extends"),
    ("{% now 'Y' %}", "now"),
    ("{% lorem %}", "lorem"),
    ("{% csrf_token %}", "csrf_token"),
    ("{% with a=patient.first_name %}{{ a }}{% endwith %}", "with"),
    ("{% for c in patient.first_name %}{{ c }}{% endfor %}", "for"),
    ("{% if holiday %}{% debug %}{% endif %}", "debug"),
    ("{{ patient.first_name.__class__ }}", "patient.first_name.__class__"),
    ("{{ patient.first_name.upper }}", "patient.first_name.upper"),
    ("{% if doctor.bio.upper %}!{% endif %}", "doctor.bio.upper"),
    ("{{ patient.first_name|default:doctor.bio.upper }}", "doctor.bio.upper"),
    ("{{ patient }}", "patient"),
    ("{{ patient.first_name|slugify }}", "slugify"),
    ("{{ visit.date|date:'Y' }}", "date"),
    ("{% if holiday %}" * 11 + "!" + "{% endif %}" * 11, "if"),
]
FORM = {"kind": "reminder", "language": "ru", "channel": "sms", "subject": ""}


@pytest.mark.parametrize(("body", "named"), REFUSED)
def test_a_template_outside_the_sandbox_is_refused_on_save_naming_it(clinic, body, named):
    with pytest.raises(ValidationError) as error:
        MessageTemplate(kind=MessageKind.REMINDER, language="en", body=body).full_clean()
    assert named in str(error.value)
    response = verified_client_for(clinic.manager).post(
        "/admin/messaging/messagetemplate/add/", {**FORM, "body": body}
    )
    assert response.status_code == 200  # the form again, with the error
    assert named in response.content.decode()
    assert not MessageTemplate.objects.exists()


@pytest.mark.parametrize(("body", "named"), REFUSED)
def test_the_live_preview_names_what_is_refused_and_never_runs_it(clinic, body, named):
    response = verified_client_for(clinic.manager).post(
        "/messages/templates/preview/", {"subject": "", "body": body, "language": "en"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="template-preview-errors"' in page
    assert named in page
    assert "sys.modules" not in page
    assert "{&#x27;" not in page
    assert len(response.content) < 5000


def test_refusals_of_tags_and_filters_are_translated(clinic):
    manager = verified_client_for(clinic.manager)
    page = manager.post(
        "/messages/templates/preview/",
        {"body": "{% debug %}", "language": "ru"},
        HTTP_ACCEPT_LANGUAGE="ru",
    ).content.decode()
    assert "Тег «debug» нельзя использовать в шаблонах сообщений" in page
    page = manager.post(
        "/messages/templates/preview/",
        {"body": "{{ holiday|slugify }}", "language": "en"},
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert "The filter “slugify” can&#x27;t be used in message templates" in page


def test_allowed_tags_and_filters_render(clinic):
    body = (
        "{{ patient.first_name|upper }} {{ doctor.name|lower }} {{ branch.name|title }} "
        "{{ holiday|capfirst }} {{ stage.purpose|truncatewords:2 }} "
        "{{ service.name|truncatechars:6 }} {{ plan.title|default:'—' }}"
        "{% comment %}a note for colleagues{% endcomment %}"
        "{% if doctor.bio and not holiday == 'x' %} bio{% elif clinic_name %} no{% endif %}"
    )
    template_check(subject="{{ visit.date }}", body=body)
    subject, text = render(Wording("{{ visit.date }}", body), EXAMPLE_CONTEXT, language="ru")
    assert subject == "2 декабря 2026"
    assert text == (
        "АННА ирина волкова Центральный Новый год Подтянуть дуги, … Корре… Лечение брекетами bio"
    )


@pytest.mark.parametrize("key", list(DEFAULT_TEMPLATES), ids=lambda key: "/".join(key))
def test_every_built_in_wording_passes_the_sandbox_and_renders(key):
    wording = DEFAULT_TEMPLATES[key]
    template_check(subject=wording.subject, body=wording.body)
    subject, body = render(wording, EXAMPLE_CONTEXT, language=key[1])
    assert body.startswith("Анна Сергеевна")
    assert "\x00" not in subject + body


def test_the_dispatchers_render_refuses_what_the_sandbox_refuses():
    for body in ("{% debug %}", "{{ patient.first_name.upper }}", "{% load i18n %}"):
        with pytest.raises(TemplateSyntaxError):
            render(Wording("", body), EXAMPLE_CONTEXT, language="ru")


def test_a_template_saved_before_the_sandbox_gives_way_to_the_built_in_wording(clinic):
    # Written without clean(), as a row from before the sandbox would be.
    MessageTemplate.objects.create(
        kind=MessageKind.BIRTHDAY, language="ru", body="{% debug %}{{ patient.first_name }}"
    )
    wording = wording_for(kind=MessageKind.BIRTHDAY, language="ru", channel="sms")
    assert wording == DEFAULT_TEMPLATES[(MessageKind.BIRTHDAY, "ru", "")]
    template = MessageTemplate.objects.get()
    page = verified_client_for(clinic.manager).get(
        f"/admin/messaging/messagetemplate/{template.pk}/change/"
    )
    assert page.status_code == 200
    assert "debug" in page.content.decode()
