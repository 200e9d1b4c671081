"""A fake SMSC.ru + Telegram Bot API over real HTTP, for tests and benchmarks.

Backends are tested through the real network stack (connection pool, timeouts, refused
connections) rather than with mocked httpx. Like the real SMSC, the fake refuses a second
message with an ``id`` it accepted less than ``duplicate_window`` seconds ago (error 9)
and delivers it again after that, so ``accepted`` counts actual deliveries and "each
message delivered exactly once" can be asserted; it answers SMSC's status interface
(``/sys/status.php``: status 1 for an id it accepted, -3 "not found" otherwise)::

    with FakeProvider() as fake:
        backend = SmscBackend(channel="sms", options={"api_url": fake.smsc_url, ...})
        fake.fail_next(2, "fail500")
        ...
        assert Counter(a["id"] for a in fake.accepted) == {...}

Modes (``fake.mode``, or ``fake.fail_next(n, mode)`` for just the next n requests):

- ``ok``: accept the message.
- ``fail500``: HTTP 500 with a plain-text body; nothing accepted.
- ``timeout``: accept the message, then hold the answer ``hang_seconds`` (longer than the
  client's timeout): the provider has it, the client never hears so — the lost-answer
  case. Set ``timeout_accepts = False`` to hang without accepting.
- ``slow``: wait ``delay`` seconds, then behave as ``ok``.
- ``error_json``: SMSC ``{"error", "error_code": error_code}`` (HTTP 200); Telegram
  ``ok: false`` with that ``error_code`` as the HTTP status too (429 adds retry_after).
- ``not_json``: HTTP 200 with an HTML body.
- ``rate_limited``: HTTP 429 with ``Retry-After: retry_after``.

Run as a process (benchmarks): ``python -m tests.messaging.fake_provider --port 0`` prints
``READY <url>`` and serves until killed. ``GET /_fake/state`` answers the counters and
accepted messages as JSON; ``POST /_fake/config`` (JSON knobs) and ``POST /_fake/reset``
change it from outside.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MODES = ("ok", "fail500", "timeout", "slow", "error_json", "not_json", "rate_limited")
SMSC_PATH = "/sys/send.php"
SMSC_STATUS_PATH = "/sys/status.php"
_TELEGRAM_PATH = re.compile(r"^/bot(?P<token>[^/]+)/sendMessage$")
# Knobs that /_fake/config may set, with their defaults (reset() restores these).
_KNOBS: dict[str, Any] = {
    "mode": "ok",
    "delay": 0.2,
    "hang_seconds": 1.0,
    "timeout_accepts": True,
    "error_code": 7,
    "retry_after": 1,
    "duplicate_window": 60.0,  # SMSC refuses a repeated id for about a minute
}

_SMSC_ERRORS = {
    1: "parameters error",
    2: "authorise error",
    3: "no money",
    4: "IP is blocked",
    5: "invalid date format",
    6: "message is denied",
    7: "invalid number",
    8: "can't deliver",
    9: "duplicate request, wait a minute",
}
_TELEGRAM_ERRORS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class FakeProvider:
    """The fake server and its records; knobs may be changed from any thread at any time."""

    delay: float
    hang_seconds: float
    timeout_accepts: bool
    error_code: int
    retry_after: int
    duplicate_window: float

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> FakeProvider:
        """Binds (port 0: the OS picks one) and serves in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self._host, self._port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-provider",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving; requests still sleeping in a mode wake up and give up."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeProvider is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base address: Telegram's ``api_url``."""
        return f"http://{self._host}:{self.port}"

    @property
    def smsc_url(self) -> str:
        """SMSC's ``api_url`` (the send.php address)."""
        return self.url + SMSC_PATH

    # --- knobs and records ------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        """Checked here so that a typo fails in the test, not as a puzzling answer."""
        if value not in MODES:
            raise ValueError(f"unknown mode {value!r}; use one of {MODES}")
        self._mode = value

    def reset(self) -> None:
        """Forgets requests, deliveries and failures to come; knobs back to defaults."""
        with self._lock:
            for name, value in _KNOBS.items():
                setattr(self, name, value)
            self._requests: list[dict[str, Any]] = []
            self._accepted: list[dict[str, Any]] = []
            self._seen_smsc_ids: dict[str, float] = {}  # id -> when last accepted
            self._pending: list[str] = []  # modes for the next requests, in order
            self._telegram_ids = itertools.count(1)

    def fail_next(self, n: int, mode: str = "fail500") -> None:
        """The next n provider requests get ``mode``; then ``self.mode`` (normally ok)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
        with self._lock:
            self._pending.extend([mode] * n)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every provider request so far (a copy): path, fields, headers (lower-case)."""
        with self._lock:
            return list(self._requests)

    def send_requests(self) -> list[dict[str, Any]]:
        """The SMSC send requests so far (each attempt, repeats included)."""
        with self._lock:
            return [r for r in self._requests if r["path"] == SMSC_PATH]

    def status_requests(self) -> list[dict[str, Any]]:
        """The SMSC status look-ups so far."""
        with self._lock:
            return [r for r in self._requests if r["path"] == SMSC_STATUS_PATH]

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """Every message delivered (a copy): channel, id, key, to, text, provider_id."""
        with self._lock:
            return list(self._accepted)

    def accepted_count(self) -> int:
        with self._lock:
            return len(self._accepted)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": len(self._requests),
                "accepted_count": len(self._accepted),
                "accepted": list(self._accepted),
                **{name: getattr(self, name) for name in _KNOBS},
            }

    def configure(self, **knobs: Any) -> None:
        unknown = set(knobs) - set(_KNOBS)
        if unknown:
            raise ValueError(f"unknown knobs: {sorted(unknown)}")
        with self._lock:
            for name, value in knobs.items():
                setattr(self, name, value)

    # --- used by the handler ----------------------------------------------------------

    def _record(self, path: str, fields: dict[str, Any], headers: dict[str, str]) -> str:
        """Logs a provider request and decides its mode."""
        with self._lock:
            self._requests.append({"path": path, "fields": fields, "headers": headers})
            mode = self._pending.pop(0) if self._pending else self.mode
        return mode

    def _accept_smsc(self, fields: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        """SMSC's answer to a message: accepted once per id, error 9 for a repeat."""
        with self._lock:
            msg_id = fields.get("id") or f"auto-{len(self._accepted) + 1}"
            now = time.monotonic()
            seen = self._seen_smsc_ids.get(msg_id)
            if seen is not None and now - seen < float(self.duplicate_window):
                return {"error": _SMSC_ERRORS[9], "error_code": 9}
            self._seen_smsc_ids[msg_id] = now
            self._accepted.append(
                {
                    "channel": "sms",
                    "id": msg_id,
                    "key": headers.get("idempotency-key", ""),
                    "to": fields.get("phones", ""),
                    "text": fields.get("mes", ""),
                    "provider_id": msg_id,
                }
            )
        return {"id": int(msg_id) if msg_id.isdigit() else msg_id, "cnt": 1}

    def _smsc_status(self, fields: dict[str, str]) -> dict[str, Any]:
        """SMSC's status.php answer (fmt=3) for one id: 1 delivered when it was accepted,
        -3 "message not found" otherwise."""
        with self._lock:
            msg_id = fields.get("id", "")
            if not msg_id or not fields.get("phone"):
                return {"error": _SMSC_ERRORS[1], "error_code": 1}
            if msg_id not in self._seen_smsc_ids:
                return {"status": -3, "last_date": "", "last_timestamp": 0}
            return {
                "status": 1,
                "last_date": time.strftime("%d.%m.%Y %H:%M:%S"),
                "last_timestamp": int(time.time()),
                "err": 0,
            }

    def _accept_telegram(self, fields: dict[str, Any], headers: dict[str, str]) -> int:
        """Telegram delivers every request: no duplicate check, like the real one."""
        with self._lock:
            message_id = next(self._telegram_ids)
            self._accepted.append(
                {
                    "channel": "telegram",
                    "id": None,
                    "key": headers.get("idempotency-key", ""),
                    "to": str(fields.get("chat_id", "")),
                    "text": fields.get("text", ""),
                    "provider_id": str(message_id),
                }
            )
        return message_id

    def _sleep(self, seconds: float) -> bool:
        """Sleeps unless the fake stops meanwhile; True when it slept the whole time."""
        return not self._stopping.wait(max(0.0, float(seconds)))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A real provider takes a burst of connections; the default backlog of 5 would
    # refuse some when several dispatchers send at once.
    request_queue_size = 256
    fake: FakeProvider

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout mode) is expected: no traceback for that."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as pooled clients expect
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms
    timeout = 30  # idle keep-alive connections end eventually
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and benchmarks read the records, not an access log."""

    # --- plumbing ---------------------------------------------------------------------

    def _body(self) -> bytes | None:
        """The request's body, or None when the client went away before sending all of
        it (a sender killed mid-request): a real server never acts on half a request."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return body if len(body) == length else None

    def _answer(
        self,
        status: int,
        body: Any,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client hung up (it timed out): nothing to tell it
            self.close_connection = True

    def _hang_then_answer(self, answer: Any) -> None:
        """Holds the answer past the client's timeout; a client still waiting gets it."""
        fake = self.server.fake
        if fake._sleep(fake.hang_seconds) and answer is not None:
            self._answer(200, answer)
        self.close_connection = True

    # --- routes -----------------------------------------------------------------------

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/_fake/state":
            self._answer(200, self.server.fake.state())
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        if body is None:
            self.close_connection = True
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake = self.server.fake
        if path == SMSC_PATH:
            self._smsc(
                dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)), headers
            )
        elif path == SMSC_STATUS_PATH:
            self._smsc_status(
                dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)), headers
            )
        elif match := _TELEGRAM_PATH.match(path):
            self._telegram(match["token"], body, headers)
        elif path == "/_fake/config":
            try:
                fake.configure(**json.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                self._answer(400, {"error": str(exc)})
                return
            self._answer(200, fake.state())
        elif path == "/_fake/reset":
            fake.reset()
            self._answer(200, fake.state())
        else:
            self._answer(404, {"error": "not found"})

    def _smsc(self, fields: dict[str, str], headers: dict[str, str]) -> None:
        fake = self.server.fake
        mode = fake._record(SMSC_PATH, fields, headers)
        if mode == "slow":
            if not fake._sleep(fake.delay):
                return
            mode = "ok"
        if mode == "fail500":
            self._answer(500, b"Internal Server Error", content_type="text/plain")
        elif mode == "timeout":
            accepted = fake._accept_smsc(fields, headers) if fake.timeout_accepts else None
            self._hang_then_answer(accepted)
        elif mode == "error_json":
            code = int(fake.error_code)
            error: dict[str, Any] = {"error": _SMSC_ERRORS.get(code, "unknown error")}
            error["error_code"] = code
            if fields.get("id") and code != 9:
                error["id"] = int(fields["id"]) if fields["id"].isdigit() else fields["id"]
            self._answer(200, error)
        elif mode == "not_json":
            self._answer(200, b"<html><body>Bad Gateway</body></html>", content_type="text/html")
        elif mode == "rate_limited":
            self._answer(
                429,
                b"Too Many Requests",
                content_type="text/plain",
                headers={"Retry-After": str(fake.retry_after)},
            )
        else:
            self._answer(200, fake._accept_smsc(fields, headers))

    def _smsc_status(self, fields: dict[str, str], headers: dict[str, str]) -> None:
        fake = self.server.fake
        mode = fake._record(SMSC_STATUS_PATH, fields, headers)
        if mode in ("slow", "timeout"):
            if not fake._sleep(fake.delay if mode == "slow" else fake.hang_seconds):
                return
            if mode == "timeout":
                self.close_connection = True
                return
        if mode == "fail500":
            self._answer(500, b"Internal Server Error", content_type="text/plain")
        else:
            self._answer(200, fake._smsc_status(fields))

    def _telegram(self, token: str, body: bytes, headers: dict[str, str]) -> None:
        fake = self.server.fake
        try:
            fields = json.loads(body or b"{}")
        except ValueError:
            fields = {}
        if not isinstance(fields, dict):
            fields = {}
        mode = fake._record(f"/bot{token}/sendMessage", fields, headers)
        if mode == "slow":
            if not fake._sleep(fake.delay):
                return
            mode = "ok"
        if mode == "fail500":
            self._answer(500, b"Internal Server Error", content_type="text/plain")
        elif mode == "timeout":
            message_id = fake._accept_telegram(fields, headers) if fake.timeout_accepts else None
            self._hang_then_answer(None if message_id is None else _telegram_ok(message_id, fields))
        elif mode in ("error_json", "rate_limited"):
            code = 429 if mode == "rate_limited" else int(fake.error_code)
            error: dict[str, Any] = {
                "ok": False,
                "error_code": code,
                "description": _TELEGRAM_ERRORS.get(code, "Bad Request").format(
                    retry_after=fake.retry_after
                ),
            }
            extra = {}
            if code == 429:
                error["parameters"] = {"retry_after": fake.retry_after}
                extra = {"Retry-After": str(fake.retry_after)}
            self._answer(code if 400 <= code <= 599 else 400, error, headers=extra)
        elif mode == "not_json":
            self._answer(200, b"<html><body>Bad Gateway</body></html>", content_type="text/html")
        else:
            self._answer(200, _telegram_ok(fake._accept_telegram(fields, headers), fields))


def _telegram_ok(message_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "ok": True,
        "result": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": fields.get("chat_id")},
            "text": fields.get("text", ""),
        },
    }


@contextmanager
def running_fake_provider(**knobs: Any) -> Iterator[FakeProvider]:
    """For fixtures: ``with running_fake_provider(mode="slow") as fake: yield fake``."""
    with FakeProvider() as fake:
        if knobs:
            fake.configure(**knobs)
        yield fake


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--delay", type=float, default=_KNOBS["delay"], help="slow mode, s")
    args = parser.parse_args(argv)
    fake = FakeProvider(args.host, args.port).start()
    fake.configure(mode=args.mode, delay=args.delay)
    print(f"READY {fake.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
