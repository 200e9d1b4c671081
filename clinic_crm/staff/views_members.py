"""The Staff page for managers (list, add, change, deactivate) and the invited member's
set-password page. Each view checks access, calls one service and redirects."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .access import public, role_required
from .forms_members import InvitationPasswordForm, StaffFilterForm, StaffMemberForm
from .models import User
from .roles import Role
from .selectors_members import staff_member, staff_members
from .services import StaffError
from .services_members import (
    invitation_pending,
    invitation_token_generator,
    staff_deactivate,
    staff_invitation_resend,
    staff_invite,
    staff_password_set,
    staff_reactivate,
    staff_update,
)

PAGE_SIZE = 50


def _base_url(request: HttpRequest) -> str:
    """Links in the invitation lead to the address the manager is using."""
    return request.build_absolute_uri("/")


def _form_error(form, exc: StaffError) -> None:
    field = getattr(exc, "field", None)
    form.add_error(field if field in form.fields else None, str(exc))


@role_required(Role.MANAGER)
def staff_list_view(request: HttpRequest) -> HttpResponse:
    form = StaffFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "q": data["q"],
            "role": data["role"],
            "branch_id": data["branch"].pk if data["branch"] else None,
            "status": data["status"],
        }
    try:
        page = Paginator(staff_members(**filters), PAGE_SIZE).page(request.GET.get("page") or 1)
    except (InvalidPage, OverflowError) as exc:
        raise Http404 from exc
    query = request.GET.copy()
    query.pop("page", None)
    template = "staff/staff_list_rows.html" if request.htmx else "staff/staff_list.html"
    return render(request, template, {"form": form, "page": page, "query": query.urlencode()})


@role_required(Role.MANAGER)
def staff_add_view(request: HttpRequest) -> HttpResponse:
    form = StaffMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            member = staff_invite(
                request=request,
                actor=request.user,
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                workplace=form.workplace(),
                base_url=_base_url(request),
                language=get_language(),
            )
        except StaffError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s was added. An invitation to set a password was sent to %(email)s.")
                % {"name": member, "email": member.email},
            )
            return redirect("staff:staff_list")
    return render(
        request,
        "staff/staff_form.html",
        {"form": form, "member": None},
        status=400 if form.errors else 200,
    )


@role_required(Role.MANAGER)
def staff_edit_view(request: HttpRequest, user_id: int) -> HttpResponse:
    member = staff_member(user_id)
    form = StaffMemberForm(
        request.POST or None, with_email=False, initial=StaffMemberForm.initial_for(member)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            staff_update(
                request=request,
                actor=request.user,
                user=member,
                first_name=data["first_name"],
                last_name=data["last_name"],
                workplace=form.workplace(),
            )
        except StaffError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Changes to %(name)s were saved.") % {"name": member})
            return redirect("staff:staff_list")
    return render(
        request,
        "staff/staff_form.html",
        {
            "form": form,
            "member": member,
            "invitation_pending": invitation_pending(member),
            "is_self": member.pk == request.user.pk,
        },
        status=400 if form.errors else 200,
    )


def _member_action(request: HttpRequest, user_id: int, action, success: str) -> HttpResponse:
    member = staff_member(user_id)
    try:
        action(member)
    except StaffError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success % {"name": member, "email": member.email})
    return redirect("staff:staff_list")


@role_required(Role.MANAGER)
@require_POST
def staff_deactivate_view(request: HttpRequest, user_id: int) -> HttpResponse:
    return _member_action(
        request,
        user_id,
        lambda member: staff_deactivate(request=request, actor=request.user, user=member),
        _(
            "%(name)s was deactivated and logged out everywhere; their open tasks went back "
            "to their branch."
        ),
    )


@role_required(Role.MANAGER)
@require_POST
def staff_reactivate_view(request: HttpRequest, user_id: int) -> HttpResponse:
    return _member_action(
        request,
        user_id,
        lambda member: staff_reactivate(request=request, actor=request.user, user=member),
        _("%(name)s can log in again."),
    )


@role_required(Role.MANAGER)
@require_POST
def staff_invitation_resend_view(request: HttpRequest, user_id: int) -> HttpResponse:
    return _member_action(
        request,
        user_id,
        lambda member: staff_invitation_resend(
            request=request,
            actor=request.user,
            user=member,
            base_url=_base_url(request),
            language=get_language(),
        ),
        _("A new invitation was sent to %(email)s; the earlier links no longer work."),
    )


class InvitationPasswordView(auth_views.PasswordResetConfirmView):
    """The link from the invitation: the member sets a password, then logs in and sets
    up the authenticator. Django's view keeps the token out of the page's URL (it moves
    into the session) so it can't leak through a Referer header."""

    template_name = "staff/set_password.html"
    form_class = InvitationPasswordForm
    token_generator = invitation_token_generator
    post_reset_login = False
    success_url = reverse_lazy("staff:login")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user: User | None = self.user
        if user is not None and not user.is_active:
            context.update(validlink=False, form=None)
        context["hours"] = settings.PASSWORD_RESET_TIMEOUT // 3600
        if not context["validlink"]:
            # Why the link does not work, as far as the link can tell.
            if user is None:
                context["reason"] = "invalid"
            elif not user.is_active:
                context["reason"] = "disabled"
            elif not invitation_pending(user):
                context["reason"] = "used"
            else:
                context["reason"] = "expired"
        return context

    def form_valid(self, form):
        try:
            staff_password_set(
                request=self.request, user=self.user, password=form.cleaned_data["new_password1"]
            )
        except StaffError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        self.request.session.pop(auth_views.INTERNAL_RESET_SESSION_TOKEN, None)
        messages.success(
            self.request,
            _(
                "Your password is set. Log in with your email and the new password; then "
                "you will set up the authenticator app."
            ),
        )
        return redirect(self.success_url)


set_password_view = public(InvitationPasswordView.as_view())
