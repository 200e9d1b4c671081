"""Providers' delivery callbacks answer a report count or a 4xx, whatever arrives: a
channel that is off has no callback, and a body that can't be read (too big, too deeply
nested, not UTF-8, not an object, fields that are not plain values) is refused — never
a server error."""

import json

import pytest

from clinic_crm.messaging.services.dispatch import messages_dispatch
from clinic_crm.messaging.services.outbox import message_plan
from tests.factories import PatientFactory
from tests.messaging.conftest import consent

pytestmark = pytest.mark.django_db

URL = "/messages/callback/sms/s3cret-callback/"


@pytest.fixture(autouse=True)
def _callback_secret(settings):
    settings.MESSAGING_CALLBACK_TOKEN = "s3cret-callback"


def _json(client, body: bytes | str):
    return client.generic("POST", URL, body, content_type="application/json")


def test_a_channel_that_is_off_has_no_callback(client, settings):
    settings.MESSAGING_SMS_BACKEND = "off"
    assert client.post(URL, {"id": "1", "status": "1"}).status_code == 404
    assert _json(client, '{"id": 1, "status": 1}').status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("[" * 100_000, 413),  # 100,000 levels: more than a report could ever be
        ("[" * 50_000, 400),  # small enough to read, too deep to parse
        ('{"a":' * 10_000 + "1" + "}" * 10_000, 400),
        ("[1, 2]", 400),  # an array, not an object
        ('"text"', 400),
        ("{not json", 400),
        (b'{"id": "\xff\xfe"}', 400),  # not UTF-8
        ('{"id": {"$gt": 0}, "status": 1}', 400),  # not plain values
        ('{"id": [1, 2], "status": [1]}', 400),
        ('{"id": 1' + "0" * 5000 + ', "status": 1}', 400),  # too long a number for JSON
    ],
    ids=lambda value: repr(value)[:30],
)
def test_a_json_body_that_cant_be_read_is_refused(client, body, status):
    assert _json(client, body).status_code == status


def test_a_huge_body_is_refused_before_it_is_read(client):
    body = b"id=1&status=1&pad=" + b"x" * 3_000_000
    response = client.generic("POST", URL, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert _json(client, b'{"id": 1, "pad": "' + b"x" * 3_000_000 + b'"}').status_code == 413


def test_a_form_body_that_is_not_utf8_is_refused(client):
    response = client.generic(
        "POST", URL, b"id=1&status=\xff\xfe", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "abc", "status": "1"},
        {"id": "1", "status": "x" * 10_000},
        {"id": "9" * 30, "status": "1"},  # beyond any message id
        {"id": "-1", "status": "20", "err": "\x00"},
        {"status": "1"},
        {},
    ],
    ids=lambda fields: repr(fields)[:30],
)
def test_fields_of_the_wrong_kind_change_nothing(client, fields):
    response = client.post(URL, fields)
    assert response.status_code == 200
    assert response.json()["updated"] == 0
    response = _json(client, json.dumps(fields))
    assert response.status_code == 200
    assert response.json()["updated"] == 0


def test_numbers_out_of_range_change_nothing(client):
    for body in ('{"id": 1e400, "status": 1}', '{"id": 99999999999999999999999, "status": 1}'):
        response = _json(client, body)
        assert response.status_code == 200
        assert response.json()["updated"] == 0


def test_a_good_report_still_counts(client, clinic, morning, providers):
    patient = PatientFactory(home_branch=clinic.branch)
    consent(patient)
    message = message_plan(
        patient=patient, kind="follow_up", key=f"cb:{patient.pk}", scheduled_for=morning
    )
    messages_dispatch()
    response = _json(client, json.dumps({"id": message.pk, "status": 1}))
    assert response.json() == {"reports": 1, "updated": 1}
    message.refresh_from_db()
    assert message.delivery == "delivered"
