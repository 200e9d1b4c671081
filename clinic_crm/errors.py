"""Error pages that never show a traceback and keep the site's look."""

import sys

import redis
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status=status,
    )


def bad_request(request, exception=None):
    return _error(request, 400, _("Bad request"), _("The request could not be understood."))


def permission_denied(request, exception=None):
    # Our own refusals say why ("Only the visit's own doctor completes it."); anything
    # else gets the general sentence.
    reason = str(exception) if exception is not None and exception.args else ""
    return _error(
        request, 403, _("No access"), reason or _("Your role does not give access to this page.")
    )


def page_not_found(request, exception=None):
    return _error(request, 404, _("Not found"), _("There is no such page or record."))


def server_error(request):
    """500, or 503 when PostgreSQL or Redis is unreachable. Rendered without the request
    context, which would need the database that may be the thing that is down."""
    error = sys.exc_info()[1]
    if isinstance(error, DatabaseError | redis.exceptions.ConnectionError):
        status, title = 503, _("Service temporarily unavailable")
        message = _("The database or cache is not reachable. Try again in a minute.")
    else:
        status, title = 500, _("Something went wrong")
        message = _("The error was recorded. Try again, or tell the clinic's administrator.")
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    body = render_to_string(
        "error_plain.html", {"status": status, "title": title, "message": message}
    )
    return HttpResponse(body, status=status)
