from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record

from .access import PASSWORD_ONLY, PUBLIC

# When the session's password login happened (Unix seconds), set by the user_logged_in
# receiver (signals.py) and kept through the second factor's key rotation.
LOGIN_AT_SESSION_KEY = "staff_password_login_at"


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _login_redirect(request: HttpRequest, login_url: str) -> HttpResponse:
    """To the login (or second-factor) page, back to this page afterwards; HTMX requests
    get an ``HX-Redirect`` so the whole page navigates."""
    response = redirect_to_login(request.get_full_path(), login_url)
    if getattr(request, "htmx", False):
        redirect = HttpResponse(status=401)
        redirect["HX-Redirect"] = response["Location"]
        return redirect
    return response


def session_login_time_store(request: HttpRequest) -> None:
    request.session[LOGIN_AT_SESSION_KEY] = int(timezone.now().timestamp())


def session_outlived(request: HttpRequest) -> bool:
    """Whether the session's password login is SESSION_ABSOLUTE_LIFETIME_HOURS old. A
    logged-in session without the time (made before it was stored) counts as outlived."""
    login_at = request.session.get(LOGIN_AT_SESSION_KEY)
    if not isinstance(login_at, int):
        return True
    lifetime = settings.SESSION_ABSOLUTE_LIFETIME_HOURS * 3600
    return timezone.now().timestamp() - login_at >= lifetime


class SessionLifetimeMiddleware:
    """Ends a staff session SESSION_ABSOLUTE_LIFETIME_HOURS after its password login,
    however busy it has been: the idle timeout alone lets a session in steady use live
    for ever. The session is flushed and the user sent to the login page with a short
    message (API: 403 with a JSON reason; HTMX: ``HX-Redirect``). Public views (the
    login page, patients' links, health check) don't read the session's user and are
    let through; the next staff page ends the session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if getattr(view_func, "access_level", None) == PUBLIC:
            return None
        if not request.user.is_authenticated or not session_outlived(request):
            return None
        hours = settings.SESSION_ABSOLUTE_LIFETIME_HOURS
        audit_record(
            action=AuditAction.LOGOUT,
            request=request,
            details={"reason": "session_lifetime", "hours": hours},
        )
        auth_logout(request)  # flushes the session
        if is_api_request(request):
            return JsonResponse({"detail": _("Your session has ended. Log in again.")}, status=403)
        messages.info(
            request,
            _("You were logged out: a session lasts at most %(hours)s hours. Log in again.")
            % {"hours": hours},
        )
        return _login_redirect(request, settings.LOGIN_URL)


class RequireVerifiedStaffMiddleware:
    """Default-deny gate: no view answers until the user has passed both factors.

    Anonymous users go to the login page, password-only users to the second-factor
    step; API requests get 403 with a JSON reason instead of a redirect, and HTMX
    requests get an ``HX-Redirect`` so the whole page navigates.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        level = getattr(view_func, "access_level", None)
        if level == PUBLIC:
            return None
        user = request.user
        if user.is_authenticated and user.is_verified():
            return None
        if user.is_authenticated and level == PASSWORD_ONLY:
            return None
        if is_api_request(request):
            return JsonResponse(
                {"detail": _("Log in with your password and second factor first.")},
                status=403,
            )
        if user.is_authenticated:
            return _login_redirect(request, resolve_url("staff:otp"))
        return _login_redirect(request, settings.LOGIN_URL)
