"""Telegram messages through the Bot API's ``sendMessage``.

The bot token is part of every request path (``/bot<token>/sendMessage``) and is a secret.
httpx logs each request's URL at INFO (logger ``httpx``) and its exceptions may carry the
request, so the client only ever sees a placeholder path; a thin transport below it swaps
the real token in just before the bytes go out. Reasons are scrubbed of the token too.

Telegram has no idempotency key: a resend after a lost answer may deliver twice, hence
no idempotency window.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from .base import (
    ChannelBackend,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from .smsc import retry_after_seconds

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_TIMEOUT = 10.0
_PLACEHOLDER = "REDACTED"


class _BotTokenTransport(httpx.BaseTransport):
    """Puts the token into the path below the client, so that the client's request log
    line, ``response.url`` and any exception's request show only the placeholder."""

    def __init__(self, token: str, inner: httpx.BaseTransport) -> None:
        self._marker = f"/bot{_PLACEHOLDER}/".encode()
        self._real = f"/bot{quote(token, safe=':')}/".encode()
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_with(
            raw_path=request.url.raw_path.replace(self._marker, self._real, 1)
        )
        outgoing = httpx.Request(
            request.method,
            url,
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return self._inner.handle_request(outgoing)

    def close(self) -> None:
        self._inner.close()


@dataclass
class TelegramBackend(ChannelBackend):
    """Telegram Bot API. Not idempotent: Telegram cannot recognise a repeated message."""

    idempotency_window: float = 0
    options: dict = field(default_factory=dict, repr=False)  # holds the token
    _client: httpx.Client | None = field(default=None, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @property
    def _token(self) -> str:
        return str(self.options.get("token") or "")

    def _http(self) -> httpx.Client:
        """One pooled client per backend, made on first use. ``options["proxy"]`` is the
        only proxy used: with a custom transport httpx ignores HTTPS_PROXY."""
        with self._lock:
            if self._client is None:
                timeout = float(self.options.get("timeout") or DEFAULT_TIMEOUT)
                inner = httpx.HTTPTransport(proxy=self.options.get("proxy") or None)
                self._client = httpx.Client(
                    timeout=httpx.Timeout(timeout),
                    transport=_BotTokenTransport(self._token, inner),
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _scrub(self, text: str) -> str:
        """The provider's or httpx's words, without the token (plain or URL-quoted)."""
        token = self._token
        if token:
            for variant in {token, quote(token, safe=":"), quote(token, safe="")}:
                text = text.replace(variant, "<token>")
        return text

    def send(self, message: OutboundMessage) -> SendResult:
        api_url = str(self.options.get("api_url") or DEFAULT_API_URL).rstrip("/")
        text = f"{message.subject}\n\n{message.body}" if message.subject else message.body
        try:
            response = self._http().post(
                f"{api_url}/bot{_PLACEHOLDER}/sendMessage",
                json={"chat_id": message.to, "text": text},
                # Telegram ignores it; it lets logs and the test provider tie a request to
                # its message.
                headers={"Idempotency-Key": message.idempotency_key},
            )
        # Raised without chaining: httpx errors may hold the request, hence the token.
        except (httpx.ConnectTimeout, httpx.PoolTimeout):
            raise TransientSendError("Telegram: connection timed out, nothing sent") from None
        except httpx.TimeoutException:
            # Telegram may have delivered it: a resend can make a duplicate.
            raise TransientSendError(
                "Telegram: request timed out, the message may have been delivered",
                maybe_sent=True,
            ) from None
        except httpx.TransportError as exc:
            raise TransientSendError(
                self._scrub(f"Telegram: connection failed ({type(exc).__name__}: {exc})")
            ) from None
        return self._result(response)

    def _result(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        try:
            answer: Any = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            if status == 429 or status >= 500 or status < 400:
                raise TransientSendError(
                    f"Telegram HTTP {status}: answer is not JSON",
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                )
            raise PermanentSendError(f"Telegram HTTP {status}")
        if answer.get("ok") is True:
            result = answer.get("result")
            message_id = result.get("message_id") if isinstance(result, dict) else None
            # ok:true means sent, even if the answer lacks the id: never resend it.
            return SendResult(provider_id="" if message_id is None else str(message_id))

        code = answer.get("error_code")
        if not isinstance(code, int) or isinstance(code, bool):
            code = status
        description = self._scrub(str(answer.get("description") or f"HTTP {status}"))
        reason = f"Telegram error {code}: {description}"
        parameters = answer.get("parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        if code == 429:
            retry_after = parameters.get("retry_after")
            if not isinstance(retry_after, int | float) or isinstance(retry_after, bool):
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            raise TransientSendError(reason, retry_after=retry_after)
        if code >= 500 or code < 400:
            raise TransientSendError(reason)
        if "migrate_to_chat_id" in parameters:
            # A group became a supergroup: the chat id stored for the patient is stale.
            reason += f" (chat moved to {parameters['migrate_to_chat_id']})"
        # 400 chat not found / message too long, 403 bot blocked, 401/404 bad token.
        raise PermanentSendError(reason)
