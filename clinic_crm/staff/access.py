"""Access markers and role checks for views.

Every view requires a logged-in staff member with a verified second factor unless it is
explicitly marked: ``public`` (patients' signed links, health check, login) or
``password_only`` (the second-factor step and enrolment). The middleware denies by
default, so a view that forgets a marker is protected, not exposed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

PUBLIC = "public"
PASSWORD_ONLY = "password_only"  # noqa: S105 - an access level name


def public(view: Callable) -> Callable:
    view.access_level = PUBLIC
    return view


def password_only(view: Callable) -> Callable:
    view.access_level = PASSWORD_ONLY
    return view


def role_required(*roles: str) -> Callable:
    """Lets the view run only for verified staff holding one of ``roles``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not (user.is_authenticated and user.is_verified() and user.has_role(*roles)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.allowed_roles = roles
        return wrapper

    return decorator
