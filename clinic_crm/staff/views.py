from __future__ import annotations

from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.forms import has_control_characters

from . import services
from .access import password_only, public, role_required
from .forms import LoginForm, TokenForm
from .home import home_context
from .models import User
from .roles import Role

BACKUP_CODES_SESSION_KEY = "staff_backup_codes_once"


def _safe_next(request: HttpRequest, default: str = "staff:home") -> str:
    """Where to go after logging in: ``next`` when it is a path on this site without
    control characters (a CR/LF would split the Location header), else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target
        # A path on this site: anything else ("9999-12-31") would be read by redirect()
        # as the name of a view.
        and target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and not has_control_characters(target, allowed="")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return default


class LoginView(auth_views.LoginView):
    """Password step. Success leads to the second-factor step, never to data."""

    template_name = "staff/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = False

    def get_redirect_url(self) -> str:
        return _safe_next(self.request, default="")

    def form_valid(self, form):
        super().form_valid(form)
        target = "staff:otp" if services.has_confirmed_totp(form.get_user()) else "staff:enrol"
        response = redirect(target)
        next_url = self.get_redirect_url()
        if next_url:
            response["Location"] += "?" + urlencode({"next": next_url})
        return response

    def form_invalid(self, form):
        if getattr(self.request, "axes_locked_out", False):
            return locked_out(self.request)
        return super().form_invalid(form)


login_view = public(LoginView.as_view())


def locked_out(request: HttpRequest, credentials=None, *args, **kwargs) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "staff/locked_out.html", {"minutes": minutes}, status=429)


@password_only
def otp_view(request: HttpRequest) -> HttpResponse:
    """Second step: a code from the authenticator app or a backup code."""
    if request.user.is_verified():
        return redirect(_safe_next(request))
    if not services.has_confirmed_totp(request.user):
        return redirect("staff:enrol")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.second_factor_verify(
                request=request, user=request.user, token=form.cleaned_data["token"]
            )
        except services.StaffError as exc:
            form.add_error("token", str(exc))
        else:
            return redirect(_safe_next(request))
    status = 400 if form.errors else 200
    return render(
        request,
        "staff/otp.html",
        {"form": form, "next": _safe_next(request, default="")},
        status=status,
    )


@password_only
def enrol_view(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app: QR code and secret, confirmed by a valid code."""
    if services.has_confirmed_totp(request.user):
        # Adding a device needs a verified session; an unverified one may not enrol.
        return redirect("staff:otp" if not request.user.is_verified() else "staff:home")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.totp_enrolment_confirm(
                request=request, user=request.user, token=form.cleaned_data["token"]
            )
        except services.StaffError as exc:
            form.add_error("token", str(exc))
        else:
            request.session[BACKUP_CODES_SESSION_KEY] = codes
            return redirect("staff:backup_codes")
    enrolment = services.totp_enrolment_start(user=request.user)
    qr_svg = segno.make(enrolment.config_url, error="m").svg_inline(scale=5, border=2)
    return render(
        request,
        "staff/enrol.html",
        {
            "form": form,
            "secret_groups": [
                enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4)
            ],
            "qr_svg": qr_svg,
        },
        status=400 if form.errors else 200,
    )


def backup_codes_view(request: HttpRequest) -> HttpResponse:
    """Shows freshly issued backup codes once; a POST issues a new set."""
    if request.method == "POST":
        codes = services.backup_codes_issue(request=request, user=request.user)
    else:
        codes = request.session.pop(BACKUP_CODES_SESSION_KEY, None)
    download = None
    if codes:
        title = _("Clinic CRM backup codes for %(email)s") % {"email": request.user.email}
        text = "\n".join([title, "", *codes, ""])
        download = "data:text/plain;charset=utf-8," + quote(text)
    return render(
        request,
        "staff/backup_codes.html",
        {"codes": codes, "codes_text": "\n".join(codes or []), "download": download},
    )


@public
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(action=AuditAction.LOGOUT, request=request)
    auth_logout(request)
    messages.info(request, _("You have logged out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


# Each role's home page: its heading and the line under it (the cards and panels are
# registered by the apps, clinic_crm.staff.home).
HOME_HEADINGS = {
    Role.ADMINISTRATOR: (
        gettext_lazy("Front desk"),
        gettext_lazy("Book, move and route patients so that nobody is lost between visits."),
    ),
    Role.DOCTOR: (
        gettext_lazy("My patients"),
        gettext_lazy("Today's patients and their treatment timelines."),
    ),
    Role.CURATOR: (
        gettext_lazy("My worklist"),
        gettext_lazy("Journeys you own: stalled plans, handoffs to book, patients to call back."),
    ),
    Role.MANAGER: (
        gettext_lazy("Clinic overview"),
        gettext_lazy("Loyalty, staff and the audit trail."),
    ),
}


def home_view(request: HttpRequest) -> HttpResponse:
    role = request.user.role
    if role is None:
        return render(request, "staff/no_role.html", status=403)
    heading, intro = HOME_HEADINGS[Role(role)]
    context: dict[str, object] = {"role": role, "home_heading": heading, "home_intro": intro}
    profile = getattr(request.user, "profile", None)
    if role != Role.MANAGER and not (profile and (profile.branch_id or profile.all_branches)):
        messages.warning(
            request,
            _(
                "Your staff profile names no branch: you see only the patients in your own "
                "care. Ask a manager to set your branch."
            ),
        )
    context.update(home_context(request, role))
    return render(request, "staff/home.html", context)


@role_required(Role.MANAGER)
@require_POST
def second_factor_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    try:
        services.second_factor_reset(request=request, actor=request.user, user=target)
    except services.StaffError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Second factor of %(name)s was reset; they will set it up at next login.")
            % {"name": target},
        )
    return redirect("staff:staff_list")
