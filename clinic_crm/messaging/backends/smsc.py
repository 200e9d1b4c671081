"""SMS through SMSC.ru's HTTP API (``sys/send.php``, JSON answers with ``fmt=3``).

We pass our message id as SMSC's client-assigned ``id``: SMSC echoes it in its answer
and in its delivery-status callbacks, and refuses an identical request repeated within a
minute with error 9 ("duplicate request, wait a minute"), which for us means "already
accepted" — that is what makes a resend after a lost answer harmless. Past that minute,
the status interface (``sys/status.php``, by phone and id) says whether SMSC has the
message: status -3 means it never arrived, so sending it then is not a repeat.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .base import (
    ChannelBackend,
    DeliveryReport,
    LookUp,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)

DEFAULT_API_URL = "https://smsc.ru/sys/send.php"
DEFAULT_TIMEOUT = 10.0

# Send errors worth trying again later: 3 no money on the account, 4 IP blocked for a while.
_TRANSIENT_ERRORS = frozenset({3, 4})
_DUPLICATE_ERROR = 9
_NOT_FOUND_STATUS = -3  # status.php: "message not found"

# Status callback codes. Not final: 0 handed to the operator, -1 waiting (no report).
# Delivered: 1, and 2 (read) / 4 (link clicked), which imply delivery.
_DELIVERED_STATUSES = frozenset({1, 2, 4})
_FAILED_STATUSES = {
    3: "expired",
    20: "undeliverable",
    22: "invalid number",
    23: "prohibited",
    24: "not enough funds",
    25: "unavailable number",
}


def retry_after_seconds(value: str | None) -> float | None:
    """Reads a Retry-After header: delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _int_or_none(value: Any) -> int | None:
    """Form fields may arrive as str, int, or a one-item list (parse_qs); bools are not ints."""
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


@dataclass
class SmscBackend(ChannelBackend):
    """SMSC.ru SMS. SMSC refuses an identical request within about a minute (error 9),
    so a repeat inside that window can't make a second SMS; after it, it could."""

    idempotency_window: float = 60
    can_look_up = True
    options: dict = field(default_factory=dict, repr=False)  # holds the password
    _transport: httpx.HTTPTransport | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.options.get("duplicate_window") is not None:
            self.idempotency_window = float(self.options["duplicate_window"])

    def _http(self) -> httpx.HTTPTransport:
        """One connection pool per backend, made on first use (constructing a backend is
        free). Requests go straight to httpx's transport: one POST with no redirects,
        cookies or auth to follow, and the client's layers for those cost a third of the
        CPU of a send, which is what limits a dispatcher's throughput."""
        with self._lock:
            if self._transport is None:
                self._transport = httpx.HTTPTransport()
            return self._transport

    def close(self) -> None:
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def _post(
        self, url: str, message: OutboundMessage, fields: dict[str, str] | None = None
    ) -> httpx.Response:
        timeout = float(self.options.get("timeout") or DEFAULT_TIMEOUT)
        request = httpx.Request(
            "POST",
            url,
            data=fields if fields is not None else self._fields(message),
            headers={"Idempotency-Key": message.idempotency_key},
            extensions={"timeout": httpx.Timeout(timeout).as_dict()},
        )
        response = self._http().handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response

    def _fields(self, message: OutboundMessage) -> dict[str, str]:
        fields = {
            "login": str(self.options.get("login") or ""),
            "psw": str(self.options.get("password") or ""),
            "phones": message.to,
            "mes": message.body,
            "id": str(message.message_id),
            "charset": "utf-8",
            "fmt": "3",
        }
        if self.options.get("sender"):
            fields["sender"] = str(self.options["sender"])
        return fields

    def send(self, message: OutboundMessage) -> SendResult:
        url = str(self.options.get("api_url") or DEFAULT_API_URL)
        try:
            response = self._post(url, message)
        # Raised without chaining: the httpx error carries the request (and its form, with
        # the password) and adds nothing the reason does not say.
        except (httpx.ConnectTimeout, httpx.PoolTimeout):
            raise TransientSendError("SMSC: connection timed out, nothing sent") from None
        except httpx.TimeoutException:
            raise TransientSendError(
                "SMSC: request timed out, the message may have been accepted", maybe_sent=True
            ) from None
        except httpx.TransportError as exc:
            raise TransientSendError(
                f"SMSC: connection failed ({type(exc).__name__}: {exc})"
            ) from None

        status = response.status_code
        if status == 429:
            raise TransientSendError(
                "SMSC HTTP 429: rate limited",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise TransientSendError(f"SMSC HTTP {status}")
        if status >= 400:
            raise PermanentSendError(f"SMSC HTTP {status}")
        try:
            answer = response.json()
        except ValueError:
            # A proxy's HTML error page or a truncated body: the message may or may not
            # have gone; SMSC's duplicate check makes a retry safe.
            raise TransientSendError(f"SMSC HTTP {status}: answer is not JSON") from None
        if not isinstance(answer, dict):
            raise TransientSendError("SMSC: unexpected answer")
        return self._result(message, answer)

    def _result(self, message: OutboundMessage, answer: dict) -> SendResult:
        if "error" in answer or "error_code" in answer:
            code = _int_or_none(answer.get("error_code"))
            text = str(answer.get("error") or "unknown error")
            reason = f"SMSC error {code if code is not None else '?'}: {text}"
            if code == _DUPLICATE_ERROR and "concurrent" not in text.lower():
                # The same request within a minute: SMSC already accepted this message.
                return SendResult(provider_id=str(message.message_id))
            if code == _DUPLICATE_ERROR or code in _TRANSIENT_ERRORS:
                raise TransientSendError(reason)
            raise PermanentSendError(reason)
        provider_id = answer.get("id")
        if provider_id is None or isinstance(provider_id, bool):
            raise TransientSendError("SMSC: answer has neither id nor error")
        return SendResult(provider_id=str(provider_id))

    def _status_url(self) -> str:
        """status.php next to send.php unless set on its own."""
        if self.options.get("status_url"):
            return str(self.options["status_url"])
        api_url = str(self.options.get("api_url") or DEFAULT_API_URL)
        base, _, _ = api_url.rpartition("/")
        return f"{base}/status.php"

    def look_up(self, message: OutboundMessage) -> LookUp:
        fields = {
            "login": str(self.options.get("login") or ""),
            "psw": str(self.options.get("password") or ""),
            "phone": message.to,
            "id": str(message.message_id),
            "charset": "utf-8",
            "fmt": "3",
        }
        try:
            response = self._post(self._status_url(), message, fields)
        except httpx.TransportError as exc:  # timeouts included: nothing changes by asking
            raise TransientSendError(f"SMSC status: {type(exc).__name__}, can't tell yet") from None
        if response.status_code != 200:
            raise TransientSendError(f"SMSC status HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise TransientSendError("SMSC status: answer is not JSON") from None
        if not isinstance(answer, dict):
            raise TransientSendError("SMSC status: unexpected answer")
        if "error" in answer or "error_code" in answer:
            code = _int_or_none(answer.get("error_code"))
            raise TransientSendError(
                f"SMSC status error {code if code is not None else '?'}: "
                f"{answer.get('error') or 'unknown error'}"
            )
        status = _int_or_none(answer.get("status"))
        if status is None:
            raise TransientSendError("SMSC status: answer has no status")
        if status == _NOT_FOUND_STATUS:
            return LookUp(LookUp.NOT_FOUND)
        if status in _FAILED_STATUSES:
            reason = f"{_FAILED_STATUSES[status]} (SMSC status {status})"
            return LookUp(LookUp.FAILED, provider_id=str(message.message_id), reason=reason)
        # -1 queued, 0 with the operator, 1 delivered, 2 read, 4 link opened, or a code we
        # don't know: SMSC has the message, so it must not go again.
        return LookUp(LookUp.ACCEPTED, provider_id=str(message.message_id))

    def parse_delivery_report(self, data: Mapping[str, Any]) -> list[DeliveryReport]:
        """SMSC's status callback (form fields id, phone, status, err). Only final statuses
        make a report; anything malformed is ignored, since a callback must never fail."""
        try:
            message_id = _int_or_none(data.get("id"))
            status = _int_or_none(data.get("status"))
        except AttributeError:  # not a mapping at all
            return []
        if message_id is None or status is None:
            return []
        if status in _DELIVERED_STATUSES:
            return [
                DeliveryReport(provider_id=str(message_id), message_id=message_id, delivered=True)
            ]
        if status not in _FAILED_STATUSES:
            return []  # 0 / -1 still on the way; unknown codes say nothing final
        reason = f"{_FAILED_STATUSES[status]} (SMSC status {status}"
        err = _int_or_none(data.get("err"))
        reason += f", error {err})" if err is not None else ")"
        return [
            DeliveryReport(
                provider_id=str(message_id), message_id=message_id, delivered=False, reason=reason
            )
        ]
