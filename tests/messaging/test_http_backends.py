"""SMSC and Telegram backends against the fake provider over real HTTP (no database).

Real sockets, not mocked httpx: timeouts, refused connections and the duplicate refusal
that makes SMSC resends safe are exercised the way production meets them.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clinic_crm.messaging.backends.base import (
    DeliveryReport,
    OutboundMessage,
    PermanentSendError,
    SendError,
    SendResult,
    TransientSendError,
)
from clinic_crm.messaging.backends.smsc import SmscBackend
from clinic_crm.messaging.backends.telegram import TelegramBackend
from tests.messaging.fake_provider import FakeProvider

TOKEN = "123456789:AAF-secret_Token-value"
CLIENT_TIMEOUT = 0.3  # the fake (tests/messaging/conftest.py) hangs 1 s in "timeout" mode


def sms(message_id: int = 42, body: str = "Приём завтра в 10:00") -> OutboundMessage:
    return OutboundMessage(
        message_id=message_id,
        idempotency_key=f"msg-{message_id}",
        channel="sms",
        to="+79991234567",
        subject="",
        body=body,
    )


def telegram_message(message_id: int = 7, subject: str = "") -> OutboundMessage:
    return OutboundMessage(
        message_id=message_id,
        idempotency_key=f"msg-{message_id}",
        channel="telegram",
        to="555000111",
        subject=subject,
        body="Ваш приём подтверждён",
    )


def closed_port() -> int:
    """A port nobody listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smsc(fake: FakeProvider) -> Iterator[SmscBackend]:
    backend = SmscBackend(
        channel="sms",
        options={
            "api_url": fake.smsc_url,
            "login": "clinic",
            "password": "pa55word",
            "sender": "Clinic",
            "timeout": CLIENT_TIMEOUT,
        },
    )
    yield backend
    backend.close()


@pytest.fixture
def telegram(fake: FakeProvider) -> Iterator[TelegramBackend]:
    backend = TelegramBackend(
        channel="telegram",
        options={"api_url": fake.url, "token": TOKEN, "timeout": CLIENT_TIMEOUT},
    )
    yield backend
    backend.close()


# --- SMSC: sending ------------------------------------------------------------------------


def test_smsc_refuses_repeats_for_a_minute_and_telegram_never() -> None:
    assert SmscBackend(channel="sms").may_resend(59)
    assert not SmscBackend(channel="sms").may_resend(61)
    assert not TelegramBackend(channel="telegram").may_resend(0)


def test_secrets_stay_out_of_the_backends_repr() -> None:
    assert "pa55word" not in repr(SmscBackend(channel="sms", options={"password": "pa55word"}))
    assert TOKEN not in repr(TelegramBackend(channel="telegram", options={"token": TOKEN}))


def test_smsc_success_returns_provider_id_and_sends_the_fields(
    smsc: SmscBackend, fake: FakeProvider
) -> None:
    assert smsc.send(sms(42)) == SendResult(provider_id="42")

    [request] = fake.requests
    assert request["fields"] == {
        "login": "clinic",
        "psw": "pa55word",
        "phones": "+79991234567",
        "mes": "Приём завтра в 10:00",
        "id": "42",
        "sender": "Clinic",
        "charset": "utf-8",
        "fmt": "3",
    }
    assert request["headers"]["idempotency-key"] == "msg-42"
    assert fake.accepted == [
        {
            "channel": "sms",
            "id": "42",
            "key": "msg-42",
            "to": "+79991234567",
            "text": "Приём завтра в 10:00",
            "provider_id": "42",
        }
    ]


def test_smsc_sender_is_left_out_when_not_configured(fake: FakeProvider) -> None:
    backend = SmscBackend(channel="sms", options={"api_url": fake.smsc_url, "login": "c"})
    try:
        backend.send(sms())
    finally:
        backend.close()
    assert "sender" not in fake.requests[0]["fields"]


def test_smsc_resend_of_the_same_message_is_delivered_once(
    smsc: SmscBackend, fake: FakeProvider
) -> None:
    first = smsc.send(sms(42))
    second = smsc.send(sms(42))  # SMSC answers error 9: it already has this one

    assert first == second == SendResult(provider_id="42")
    assert len(fake.requests) == 2
    assert Counter(a["id"] for a in fake.accepted) == {"42": 1}


def test_smsc_http_500_is_transient(smsc: SmscBackend, fake: FakeProvider) -> None:
    fake.mode = "fail500"
    with pytest.raises(TransientSendError, match="500"):
        smsc.send(sms())
    assert fake.accepted_count() == 0


def test_smsc_timeout_is_transient_and_the_resend_is_not_a_second_sms(
    smsc: SmscBackend, fake: FakeProvider
) -> None:
    fake.fail_next(1, "timeout")  # the fake takes the message but its answer is lost
    started = time.monotonic()
    with pytest.raises(TransientSendError, match="timed out"):
        smsc.send(sms(42))
    assert time.monotonic() - started < fake.hang_seconds

    assert smsc.send(sms(42)) == SendResult(provider_id="42")
    assert Counter(a["id"] for a in fake.accepted) == {"42": 1}


def test_smsc_rate_limit_is_transient_with_retry_after(
    smsc: SmscBackend, fake: FakeProvider
) -> None:
    fake.mode = "rate_limited"
    fake.retry_after = 3
    with pytest.raises(TransientSendError) as caught:
        smsc.send(sms())
    assert caught.value.retry_after == 3


@pytest.mark.parametrize(
    ("code", "error_class", "words"),
    [
        (7, PermanentSendError, "SMSC error 7: invalid number"),
        (2, PermanentSendError, "SMSC error 2: authorise error"),
        (8, PermanentSendError, "SMSC error 8"),
        (77, PermanentSendError, "SMSC error 77"),  # unknown codes do not loop forever
        (3, TransientSendError, "SMSC error 3: no money"),
        (4, TransientSendError, "SMSC error 4"),
    ],
)
def test_smsc_error_codes(
    smsc: SmscBackend,
    fake: FakeProvider,
    code: int,
    error_class: type[SendError],
    words: str,
) -> None:
    fake.mode = "error_json"
    fake.error_code = code
    with pytest.raises(SendError) as caught:
        smsc.send(sms())
    assert type(caught.value) is error_class
    assert words in caught.value.reason


def test_smsc_answer_that_is_not_json_is_transient(smsc: SmscBackend, fake: FakeProvider) -> None:
    fake.mode = "not_json"
    with pytest.raises(TransientSendError, match="not JSON"):
        smsc.send(sms())


def test_smsc_connection_refused_is_transient() -> None:
    backend = SmscBackend(
        channel="sms",
        options={"api_url": f"http://127.0.0.1:{closed_port()}/sys/send.php", "timeout": 1},
    )
    try:
        with pytest.raises(TransientSendError, match="connection failed"):
            backend.send(sms())
    finally:
        backend.close()


def test_smsc_retries_after_failures_deliver_each_message_once(
    smsc: SmscBackend, fake: FakeProvider
) -> None:
    fake.fail_next(2, "fail500")
    for message_id in (1, 2, 3):
        for _attempt in range(3):
            try:
                smsc.send(sms(message_id))
                break
            except TransientSendError:
                continue
        smsc.send(sms(message_id))  # a stray resend after success changes nothing
    assert Counter(a["id"] for a in fake.accepted) == {"1": 1, "2": 1, "3": 1}


def test_smsc_client_is_remade_after_close(smsc: SmscBackend, fake: FakeProvider) -> None:
    smsc.send(sms(1))
    smsc.close()
    smsc.close()  # twice is harmless
    assert smsc.send(sms(2)) == SendResult(provider_id="2")


# --- SMSC: delivery reports ---------------------------------------------------------------


def test_smsc_report_delivered(smsc: SmscBackend) -> None:
    data = {"id": "42", "phone": "79991234567", "status": "1"}
    assert smsc.parse_delivery_report(data) == [
        DeliveryReport(provider_id="42", message_id=42, delivered=True)
    ]


def test_smsc_report_from_a_django_querydict(smsc: SmscBackend) -> None:
    from django.http import QueryDict

    [report] = smsc.parse_delivery_report(QueryDict("id=42&phone=79991234567&status=22&err=1"))
    assert (report.message_id, report.delivered) == (42, False)
    assert "invalid number" in report.reason


def test_smsc_report_undeliverable_has_a_reason(smsc: SmscBackend) -> None:
    [report] = smsc.parse_delivery_report({"id": "42", "status": "20", "err": "254"})
    assert report.provider_id == "42"
    assert report.message_id == 42
    assert report.delivered is False
    assert "undeliverable" in report.reason
    assert "20" in report.reason


@pytest.mark.parametrize("status", ["0", "-1"])
def test_smsc_report_not_final_yet_is_ignored(smsc: SmscBackend, status: str) -> None:
    assert smsc.parse_delivery_report({"id": "42", "status": status}) == []


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"id": "42"},
        {"status": "1"},
        {"id": "abc", "status": "1"},
        {"id": "42", "status": "delivered"},
        {"id": "", "status": ""},
        None,
    ],
)
def test_smsc_malformed_report_is_ignored(smsc: SmscBackend, data: object) -> None:
    assert smsc.parse_delivery_report(data) == []  # type: ignore[arg-type]


# --- Telegram -----------------------------------------------------------------------------


def test_telegram_success(telegram: TelegramBackend, fake: FakeProvider) -> None:
    assert telegram.send(telegram_message(subject="Напоминание")) == SendResult(provider_id="1")

    [request] = fake.requests
    assert request["path"] == f"/bot{TOKEN}/sendMessage"
    assert request["fields"] == {
        "chat_id": "555000111",
        "text": "Напоминание\n\nВаш приём подтверждён",
    }
    assert [(a["to"], a["key"]) for a in fake.accepted] == [("555000111", "msg-7")]


def test_telegram_without_subject_sends_only_the_body(
    telegram: TelegramBackend, fake: FakeProvider
) -> None:
    telegram.send(telegram_message())
    assert fake.requests[0]["fields"]["text"] == "Ваш приём подтверждён"


def test_telegram_429_is_transient_with_retry_after(
    telegram: TelegramBackend, fake: FakeProvider
) -> None:
    fake.mode = "error_json"
    fake.error_code = 429
    fake.retry_after = 3
    with pytest.raises(TransientSendError) as caught:
        telegram.send(telegram_message())
    assert caught.value.retry_after == 3


@pytest.mark.parametrize(
    ("code", "words"),
    [(403, "bot was blocked by the user"), (400, "chat not found"), (401, "Unauthorized")],
)
def test_telegram_refusals_are_permanent(
    telegram: TelegramBackend, fake: FakeProvider, code: int, words: str
) -> None:
    fake.mode = "error_json"
    fake.error_code = code
    with pytest.raises(PermanentSendError, match=words):
        telegram.send(telegram_message())


def test_telegram_server_errors_are_transient(
    telegram: TelegramBackend, fake: FakeProvider
) -> None:
    fake.mode = "fail500"
    with pytest.raises(TransientSendError):
        telegram.send(telegram_message())


def test_telegram_timeout_is_transient(telegram: TelegramBackend, fake: FakeProvider) -> None:
    fake.mode = "timeout"
    with pytest.raises(TransientSendError, match="timed out"):
        telegram.send(telegram_message())


@pytest.mark.parametrize(
    ("mode", "error_code"),
    [
        ("fail500", 0),
        ("timeout", 0),
        ("not_json", 0),
        ("rate_limited", 0),
        ("error_json", 401),
        ("error_json", 404),
        ("error_json", 403),
        ("refused", 0),
    ],
)
def test_telegram_token_never_appears_in_errors_or_logs(
    fake: FakeProvider,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    error_code: int,
) -> None:
    api_url = f"http://127.0.0.1:{closed_port()}" if mode == "refused" else fake.url
    backend = TelegramBackend(
        channel="telegram",
        options={"api_url": api_url, "token": TOKEN, "timeout": CLIENT_TIMEOUT},
    )
    if mode != "refused":
        fake.mode = mode
        fake.error_code = error_code
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(SendError) as caught:
            backend.send(telegram_message())
    finally:
        backend.close()

    error = caught.value
    secret = TOKEN.split(":")[1]
    # The whole traceback as a log handler would print it: no chained httpx error either.
    texts = [str(error), repr(error), error.reason, *traceback.format_exception(error)]
    assert not [text for text in texts if secret in text]
    assert secret not in caplog.text
    if mode != "refused":
        assert fake.requests[0]["path"] == f"/bot{TOKEN}/sendMessage"  # it did go out


def test_telegram_success_log_line_hides_the_token(
    telegram: TelegramBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    telegram.send(telegram_message())
    assert "sendMessage" in caplog.text  # httpx did log the request ...
    assert TOKEN.split(":")[1] not in caplog.text  # ... without the secret


# --- The fake itself ----------------------------------------------------------------------


def test_fake_rejects_unknown_modes(fake: FakeProvider) -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        fake.mode = "fail_500"
    with pytest.raises(ValueError, match="unknown mode"):
        fake.fail_next(1, "fail_500")


def test_fake_runs_as_a_process_for_benchmarks() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.messaging.fake_provider", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        ready, url = process.stdout.readline().split()  # type: ignore[union-attr]
        assert ready == "READY"
        backend = SmscBackend(channel="sms", options={"api_url": f"{url}/sys/send.php"})
        try:
            backend.send(sms(5))
            backend.send(sms(5))
        finally:
            backend.close()
        state = httpx.get(f"{url}/_fake/state", timeout=2).json()
        assert (state["requests"], state["accepted_count"]) == (2, 1)
    finally:
        process.terminate()
        process.wait(timeout=5)
