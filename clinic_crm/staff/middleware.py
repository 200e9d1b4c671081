from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _

from .access import PASSWORD_ONLY, PUBLIC


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


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
            target = resolve_url("staff:otp")
            response = redirect_to_login(request.get_full_path(), target)
        else:
            response = redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if getattr(request, "htmx", False):
            redirect = HttpResponse(status=401)
            redirect["HX-Redirect"] = response["Location"]
            return redirect
        return response
