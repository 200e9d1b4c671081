"""Where the change being audited comes from, for the whole of a request or a job.

The audit writer (:func:`clinic_crm.audit.services.audit_record`) is called from views
and from services alike; a service knows nothing of the request. So the middleware keeps
the request in a context variable while it is served, and the writer takes the user, the
IP address, the user agent and the path from it when the caller passed no request.
Celery tasks run in a "task" context named after the task; anything else (a management
command, a shell) is "system".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from .models import AuditSource


@dataclass(frozen=True)
class AuditContext:
    source: str
    request: HttpRequest | None = None
    task: str = ""


SYSTEM = AuditContext(source=AuditSource.SYSTEM)

_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current_context() -> AuditContext:
    return _current.get() or SYSTEM


@contextmanager
def audit_context(context: AuditContext) -> Iterator[AuditContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


class AuditContextMiddleware:
    """Makes the request the audit context of everything written while it is served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_context(AuditContext(source=AuditSource.REQUEST, request=request)):
            return self.get_response(request)


# Celery runs each task between these two signals, in the worker's thread (or in the
# caller's, when a task is applied eagerly): the task's name is its audit context.
_task_tokens: dict[str, object] = {}


def task_context_enter(task_id=None, task=None, **kwargs) -> None:
    name = getattr(task, "name", "") or ""
    _task_tokens[task_id] = _current.set(AuditContext(source=AuditSource.TASK, task=name))


def task_context_leave(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            _current.reset(token)
        except ValueError:  # set in another context (should not happen): just clear
            _current.set(None)
