"""Hostile values in every form and filter of the app never reach a 500.

Every URL pattern is opened by each role (and anonymously for the public ones). The
fields of the forms on the page, plus every query parameter the app reads, are then
sent — by GET and by POST, plain and over HTMX — filled with NUL bytes, a megabyte of
text, years 1 and 9999, impossible dates, numbers beyond any column, negative numbers,
and values of the wrong type. Bad input must get an answer that says so (a form error,
400, 403, 404, 405), never a server error.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.urls import get_resolver

from clinic_crm.messaging.links import optout_url
from clinic_crm.staff.roles import Role
from journeys.patient_links import calendar_path, feel_link_url, visit_link_url
from tests.conftest import verified_client_for
from tests.helpers import walk_urls

pytestmark = pytest.mark.django_db

HOSTILE = {
    "nul": "a\x00b",
    "controls": "\x1b[31m\x07\x08",
    "megabyte": "я" * 500_000,
    "year_9999": "9999-12-31",
    "year_1": "0001-01-01",
    "impossible_date": "2026-02-30",
    "huge_int": "99999999999999999999",
    "negative": "-1",
    "wrong_type": "[{}]",
    "crlf": "/x\r\nSet-Cookie: hijacked=1",
}
# Query and form parameters the views read themselves (beyond the fields on the pages).
PARAMETERS = [
    "q",
    "page",
    "date",
    "time",
    "branch",
    "doctor",
    "service",
    "specialty",
    "patient",
    "patient_q",
    "stage",
    "handoff",
    "start",
    "end",
    "period",
    "stage_kind",
    "shown",
    "kind",
    "status",
    "channel",
    "date_from",
    "date_to",
    "actor",
    "action",
    "patient_id",
    "audience",
    "next",
    "fragment",
    "target",
    "option",
    "outcome",
    "text",
    "reason",
    "note",
    "comment",
    "answer",
    "done",
    "language",
    "subject",
    "body",
    "token",
    "username",
    "password",
]
HTMX = {"HX-Request": "true"}
_FIELD_NAME = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', re.I)


def _routes():
    for route, name in walk_urls(get_resolver().url_patterns):
        if route.startswith("admin/"):
            continue
        yield route, name


def _url_for(route: str, w) -> str:
    """The route with real ids of the world's records and valid signed tokens."""
    values = {
        "patient_id": w.p.pk,
        "plan_id": w.draft.pk,
        "visit_id": w.visit.pk,
        "task_id": w.task.pk,
        "message_id": w.message.pk,
        "item_id": w.item.pk,
        "response_id": w.response.pk,
        "user_id": w.curator_c.pk,
        "channel": "sms",
    }
    tokens = {
        "p/calendar/": calendar_path(patient_id=w.p.pk),
        "p/optout/": optout_url(patient_id=w.p.pk, kind="recall"),
        "p/visit/": visit_link_url(visit=w.visit_c),
        "p/feel/": feel_link_url(visit=w.visit),
    }
    for prefix, link in tokens.items():
        if route.startswith(prefix):
            return urlsplit(link).path

    def fill(match: re.Match) -> str:
        name = match.group(2)
        return str(values.get(name, "x"))

    path = re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)
    return "/" + path


def _fields(client, url: str) -> set[str]:
    response = client.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return set()
    return {name for name in _FIELD_NAME.findall(response.content.decode(errors="replace"))}


class Offenders(list):
    def check(self, what: str, send, *args, **kwargs) -> None:
        try:
            status = send(*args, **kwargs).status_code
        except Exception as exc:  # a crash the test client re-raises is a 500 too
            self.append(f"{what} raised {type(exc).__name__}: {str(exc)[:120]}")
            return
        if status >= 500:
            self.append(f"{what} answered {status}")


def _personas(w):
    from django.test import Client

    return {
        "doctor": verified_client_for(w.doctor_c),
        "curator": verified_client_for(w.curator_c),
        "administrator": verified_client_for(w.admin_c),
        "manager": verified_client_for(w.manager),
        "anonymous": Client(),
    }


@pytest.fixture
def hostile_world(world, make_staff):
    world.manager = make_staff(Role.MANAGER, branch=world.c)
    return world


def test_no_form_or_filter_answers_a_server_error_to_hostile_input(hostile_world, settings):
    settings.MESSAGING_CALLBACK_TOKEN = "callback-secret"  # noqa: S105 - a test value
    w = hostile_world
    clients = _personas(w)
    urls = []
    for route, name in _routes():
        url = _url_for(route, w)
        if name == "messaging:delivery_callback":
            url = url.replace("/x/", "/callback-secret/")
        if name in ("staff:logout",):
            continue  # would end the session the rest of the sweep needs
        urls.append((name, url))
    assert len(urls) > 40
    offenders = Offenders()
    for persona, client in clients.items():
        for name, url in urls:
            fields = _fields(client, url) | set(PARAMETERS)
            fields.discard("csrfmiddlewaretoken")
            for label, value in HOSTILE.items():
                what = f"{persona} {name} {url} [{label}]"
                if label == "megabyte":
                    # A megabyte in each field would be hundreds of megabytes: one field
                    # at a time, the usual free-text ones.
                    data = {"text": value, "q": value, "reason": value, "note": value}
                else:
                    data = dict.fromkeys(fields, value)
                query = {k: v for k, v in data.items() if len(v) < 5000}
                offenders.check(what, client.get, url, query)
                offenders.check(what + " POST", client.post, url, data)
                offenders.check(what + " HX", client.post, url, data, headers=HTMX)
            # The same fields repeated (lists where one value is expected).
            lists = {f: ["1", "2"] for f in fields}
            offenders.check(f"{persona} {url} lists", client.post, url, lists)
    assert not offenders, "\n".join(offenders)


def test_hostile_json_to_the_delivery_callback_is_refused_not_a_server_error(client, settings):
    settings.MESSAGING_CALLBACK_TOKEN = "callback-secret"  # noqa: S105 - a test value
    url = "/messages/callback/sms/callback-secret/"
    for body in (
        "[" * 100_000,
        "{" * 50_000,
        '{"id": {"a": [1, 2]}, "status": [null]}',
        "\xff\xfe not utf-8",
        "[]",
        '"a string"',
        "x" * 2_000_000,
    ):
        response = client.post(url, body, content_type="application/json")
        assert 400 <= response.status_code < 500, (body[:20], response.status_code)
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # Django's own cap stays on
