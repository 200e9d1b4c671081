"""The admin speaks correct Russian: the model's name in the accusative after "Добавить"
and "Выберите", counts with every plural form, filters that fit every case, and role
groups by their translated names (clinic_crm.admin_names, templates/admin/)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.utils import translation

from clinic_crm.admin_names import admin_names
from clinic_crm.catalogue.models import Service
from clinic_crm.staff.roles import Role
from feedback.models import ReasonTag
from tests.conftest import verified_client_for
from tests.factories import SpecialtyFactory
from tests.journeys.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(make_staff):
    def make(language: str):
        user = make_staff(Role.MANAGER)
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])
        client = verified_client_for(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        return client, user

    return make


def _text(response) -> str:
    assert response.status_code == 200
    html = response.content.decode()
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _count_shown(client, path: str) -> str:
    html = client.get(path).content.decode()
    found = re.search(r'data-testid="admin-count">([^<]*)<', html)
    assert found, html[-2000:]
    return found.group(1).strip()


def test_add_button_and_titles_name_the_model_in_the_accusative(superuser_client):
    client, _user = superuser_client("ru")
    reasons = _text(client.get("/admin/feedback/reasontag/"))
    assert "Добавить причину" in reasons
    assert "Выберите причину для изменения" in reasons
    assert "Добавить причина" not in reasons
    services = _text(client.get("/admin/catalogue/service/"))
    assert "Выберите услугу для изменения" in services
    assert "Добавить услугу" in services
    add_service = _text(client.get("/admin/catalogue/service/add/"))
    assert "Добавить услугу" in add_service
    assert "Добавить услуга" not in add_service
    staff = _text(client.get("/admin/staff/user/"))
    assert "Добавить сотрудника" in staff
    assert "Выберите сотрудника для изменения" in staff


def test_a_change_form_names_the_model_in_the_accusative(superuser_client):
    client, _user = superuser_client("ru")
    service = ServiceFactory(name="Чистка")
    page = _text(client.get(f"/admin/catalogue/service/{service.pk}/change/"))
    assert "Изменить услугу" in page


def test_counts_take_the_plural_form_the_number_needs(superuser_client, make_staff):
    client, user = superuser_client("ru")
    # the fixture's superuser is staff member number one
    assert _count_shown(client, "/admin/staff/user/") == "1 сотрудник"
    for _n in range(2):
        make_staff(Role.DOCTOR)
    assert _count_shown(client, "/admin/staff/user/") == "3 сотрудника"
    for _n in range(6):
        make_staff(Role.CURATOR)
    assert _count_shown(client, "/admin/staff/user/") == "9 сотрудников"

    specialty = SpecialtyFactory()
    for n in range(5):
        Service.objects.create(name=f"Услуга {n}", specialty=specialty)
    assert _count_shown(client, "/admin/catalogue/service/") == "5 услуг"
    ReasonTag.objects.all().delete()
    ReasonTag.objects.create(key="wait", name="Долгое ожидание", keywords="ждал")
    assert _count_shown(client, "/admin/feedback/reasontag/") == "1 причина"
    ReasonTag.objects.create(key="price", name="Цена", keywords="цена")
    assert _count_shown(client, "/admin/feedback/reasontag/") == "2 причины"


def test_the_admin_reads_as_django_wrote_it_in_english(superuser_client, make_staff):
    client, _user = superuser_client("en")
    make_staff(Role.DOCTOR)
    page = _text(client.get("/admin/staff/user/"))
    assert "Add staff member" in page
    assert "Select staff member to change" in page
    assert _count_shown(client, "/admin/staff/user/") == "2 staff members"
    ReasonTag.objects.all().delete()
    ReasonTag.objects.create(key="wait", name="Waiting", keywords="wait")
    assert _count_shown(client, "/admin/feedback/reasontag/") == "1 reason"


def test_filters_are_headed_in_a_form_that_fits_every_case(superuser_client):
    client, _user = superuser_client("ru")
    SpecialtyFactory(name="Ортодонтия")
    SpecialtyFactory(name="Хирургия")  # the filter shows from two choices on
    page = _text(client.get("/admin/catalogue/service/"))
    assert "Фильтр: специальность" in page
    assert "По специальность" not in page


def test_role_groups_are_shown_by_their_translated_names(superuser_client, make_staff):
    client, user = superuser_client("ru")
    page = _text(client.get("/admin/auth/group/"))
    for role, russian in (
        (Role.DOCTOR, "Врач"),
        (Role.ADMINISTRATOR, "Администратор"),
        (Role.CURATOR, "Куратор"),
        (Role.MANAGER, "Руководитель"),
    ):
        assert Group.objects.filter(name=role).exists()
        assert russian in page
    assert "Выберите группу для изменения" in page
    # the groups on a staff member's form too; the code stays the group's name
    form = client.get(f"/admin/staff/user/{user.pk}/change/").content.decode()
    doctor_group = Group.objects.get(name=Role.DOCTOR)
    assert re.search(rf'<option value="{doctor_group.pk}"[^>]*>\s*Врач\s*</option>', form)
    assert doctor_group.name == "doctor"

    # the staff list filters by role, named in Russian, and the filter works
    make_staff(Role.DOCTOR)
    staff = client.get("/admin/staff/user/").content.decode()
    assert re.search(r'<a href="\?role=doctor">\s*Врач\s*</a>', staff)
    assert ">doctor</a>" not in staff
    assert _count_shown(client, "/admin/staff/user/?role=doctor") == "1 сотрудник"

    english, _user = superuser_client("en")
    assert "Doctor" in _text(english.get("/admin/auth/group/"))


def test_every_model_in_the_admin_has_its_russian_names():
    """A model added to the admin without its names would read "Добавить причина"."""
    missing = [
        model._meta.label_lower
        for model in admin.site._registry
        if admin_names(model._meta) is None
    ]
    assert not missing


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 услуга"), (2, "2 услуги"), (5, "5 услуг"), (11, "11 услуг"), (21, "21 услуга")],
)
def test_a_registered_count_follows_russian_plural_rules(count, expected):
    names = admin_names(Service._meta)
    with translation.override("ru"):
        assert names.count_text(count) == expected
