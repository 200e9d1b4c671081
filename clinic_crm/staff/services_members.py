"""Managing the clinic's staff: invitations, role and workplace changes, deactivation.

Every function here checks that the actor may manage staff (``can_manage_staff``),
validates before it writes, writes one audit row per change and raises ``StaffError``
with a message for the manager. A new member gets no password from the manager: an
email carries a one-time set-password link (``invitation_token_generator``, valid for
``PASSWORD_RESET_TIMEOUT``), and at the first login the usual flow makes them enrol
their authenticator before anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.forms import has_control_characters

from .models import StaffProfile, User
from .roles import Role
from .services import StaffError
from .signals import staff_deactivated

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from clinic_crm.catalogue.models import Branch, Specialty

NAME_MAX_LENGTH = 150


class MemberError(StaffError):
    """A refused staff change; ``field`` names the form field it is about, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Django's password-reset tokens under a salt of their own, so an invitation link
    is not a password-reset link. A token is bound to the password hash: it stops
    working once the password is set, or when a new invitation replaces the unusable
    password with another, and after PASSWORD_RESET_TIMEOUT seconds."""

    key_salt = "clinic_crm.staff.services_members.InvitationTokenGenerator"


invitation_token_generator = InvitationTokenGenerator()


def can_manage_staff(user: User | AnonymousUser | None) -> bool:
    """Who may add, change and deactivate staff: active managers."""
    return bool(user and user.is_authenticated and user.is_active and user.has_role(Role.MANAGER))


def invitation_pending(user: User) -> bool:
    """Whether the member has not set a password yet (their invitation is still open)."""
    return not user.has_usable_password()


@dataclass(frozen=True)
class Workplace:
    """What a manager sets about a member: role, branch, specialty."""

    role: str
    branch: Branch | None = None
    specialty: Specialty | None = None
    all_branches: bool = False


def _check_actor(actor: User) -> None:
    if not can_manage_staff(actor):
        raise StaffError(_("Only managers can manage staff."))


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not email:
        raise MemberError(_("Enter the email address."), field="email")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise MemberError(
            _("“%(email)s” is not a valid email address.") % {"email": email}, field="email"
        ) from exc
    return email


def _clean_name(value: str) -> str:
    value = (value or "").strip()
    if len(value) > NAME_MAX_LENGTH:
        raise StaffError(_("A name has at most %(limit)s characters.") % {"limit": NAME_MAX_LENGTH})
    if has_control_characters(value, allowed=""):
        raise StaffError(
            _("The text contains invisible control characters; remove them and send again.")
        )
    return value


def _check_workplace(workplace: Workplace) -> None:
    if workplace.role not in Role.values:
        raise MemberError(_("Choose a role."), field="role")
    if workplace.role == Role.DOCTOR and workplace.specialty is None:
        raise MemberError(_("Choose the doctor's specialty."), field="specialty")
    if workplace.role != Role.DOCTOR and workplace.specialty is not None:
        raise MemberError(
            _("Only doctors have a specialty: clear it for this role."), field="specialty"
        )
    if workplace.all_branches and workplace.role != Role.ADMINISTRATOR:
        raise MemberError(_("Only administrators can work for every branch."), field="all_branches")
    if workplace.role != Role.MANAGER and workplace.branch is None and not workplace.all_branches:
        raise MemberError(_("Choose the branch where they work."), field="branch")


def _lock_managers(actor: User) -> None:
    """Serialises the changes that could leave the clinic without an active manager
    (two managers demoting or deactivating each other at once must not both succeed),
    then checks the actor is still an active manager as committed, not as loaded."""
    Group.objects.select_for_update().filter(name=Role.MANAGER).first()
    if not User.objects.filter(pk=actor.pk, is_active=True, groups__name=Role.MANAGER).exists():
        raise StaffError(_("Only managers can manage staff."))


def _other_active_managers(user: User) -> bool:
    return (
        User.objects.filter(is_active=True, groups__name=Role.MANAGER).exclude(pk=user.pk).exists()
    )


def _workplace_details(workplace: Workplace) -> dict[str, str | int | bool | None]:
    return {
        "role": workplace.role,
        "branch_id": getattr(workplace.branch, "pk", None),
        "specialty_id": getattr(workplace.specialty, "pk", None),
        "all_branches": workplace.all_branches,
    }


# --- invitations ---------------------------------------------------------------------------


def invitation_url(*, user: User, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = invitation_token_generator.make_token(user)
    path = reverse("staff:set_password", kwargs={"uidb64": uid, "token": token})
    return base_url.rstrip("/") + path


def _invitation_send(*, user: User, actor: User, base_url: str, language: str) -> None:
    """Sends the set-password email in ``language`` (the inviting manager's language at
    the moment of sending). Raises StaffError when the mail server refuses."""
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    context = {
        "member": user,
        "inviter": actor,
        "url": invitation_url(user=user, base_url=base_url),
        "hours": hours,
        "login_url": base_url.rstrip("/") + reverse("staff:login"),
    }
    with translation.override(language):
        subject = " ".join(render_to_string("staff/email/invitation_subject.txt", context).split())
        body = render_to_string("staff/email/invitation_body.txt", context)
    message = EmailMultiAlternatives(subject=subject, body=body, to=[user.email])
    try:
        message.send()
    except OSError as exc:  # smtplib errors are OSErrors too
        raise StaffError(
            _("The invitation email could not be sent (%(error)s). Nothing was saved; try again.")
            % {"error": exc.__class__.__name__}
        ) from exc


@transaction.atomic
def staff_invite(
    *,
    request: HttpRequest | None,
    actor: User,
    email: str,
    first_name: str,
    last_name: str,
    workplace: Workplace,
    base_url: str,
    language: str,
) -> User:
    """Adds a staff member without a password and emails them a set-password link.
    The email goes out last, inside the transaction: when it can't be sent, nothing is
    saved and the manager is told to try again."""
    _check_actor(actor)
    email = _clean_email(email)
    first_name, last_name = _clean_name(first_name), _clean_name(last_name)
    if not (first_name or last_name):
        raise MemberError(_("Enter the member's name."), field="last_name")
    _check_workplace(workplace)
    if User.objects.filter(email__iexact=email).exists():
        raise MemberError(
            _("A staff member with email %(email)s already exists.") % {"email": email},
            field="email",
        )
    user = User(
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=workplace.role == Role.MANAGER,
    )
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # the same email added by another manager just now
        raise MemberError(
            _("A staff member with email %(email)s already exists.") % {"email": email},
            field="email",
        ) from exc
    user.groups.add(Group.objects.get_or_create(name=workplace.role)[0])
    StaffProfile.objects.create(
        user=user,
        branch=workplace.branch,
        specialty=workplace.specialty,
        all_branches=workplace.all_branches,
    )
    audit_record(
        action=AuditAction.CREATE,
        request=request,
        actor=actor,
        obj=user,
        details={"change": "staff_invited", "language": language, **_workplace_details(workplace)},
    )
    _invitation_send(user=user, actor=actor, base_url=base_url, language=language)
    return user


@transaction.atomic
def staff_invitation_resend(
    *, request: HttpRequest | None, actor: User, user: User, base_url: str, language: str
) -> None:
    """Sends a new set-password link; the links sent before stop working."""
    _check_actor(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise StaffError(_("%(name)s is deactivated: reactivate them first.") % {"name": user})
    if not invitation_pending(user):
        raise StaffError(
            _("%(name)s has already set a password; there is no invitation to resend.")
            % {"name": user}
        )
    user.set_unusable_password()  # a new unusable hash: older links no longer match
    user.save(update_fields=["password"])
    audit_record(
        action=AuditAction.UPDATE,
        request=request,
        actor=actor,
        obj=user,
        details={"change": "invitation_resent", "language": language},
    )
    _invitation_send(user=user, actor=actor, base_url=base_url, language=language)


@transaction.atomic
def staff_password_set(*, request: HttpRequest | None, user: User, password: str) -> None:
    """The invited member sets their password through a valid link (checked by the
    caller). The link's token stops working with it."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise StaffError(_("This account is disabled. Ask a manager."))
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise StaffError(" ".join(exc.messages)) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        action=AuditAction.UPDATE,
        request=request,
        actor=user,
        obj=user,
        details={"change": "password_set"},
    )


# --- changes -------------------------------------------------------------------------------


@transaction.atomic
def staff_update(
    *,
    request: HttpRequest | None,
    actor: User,
    user: User,
    first_name: str,
    last_name: str,
    workplace: Workplace,
) -> User:
    """Changes a member's name, role, branch and specialty. Nobody changes their own
    role, and the last active manager keeps theirs."""
    _check_actor(actor)
    _lock_managers(actor)
    user = User.objects.select_for_update(of=("self",)).select_related("profile").get(pk=user.pk)
    first_name, last_name = _clean_name(first_name), _clean_name(last_name)
    if not (first_name or last_name):
        raise MemberError(_("Enter the member's name."), field="last_name")
    old_role = user.role
    if workplace.role != old_role:
        if user.pk == actor.pk:
            raise MemberError(
                _("You can't change your own role; ask another manager."), field="role"
            )
        if old_role == Role.MANAGER and user.is_active and not _other_active_managers(user):
            raise StaffError(
                _("%(name)s is the only active manager: make someone else a manager first.")
                % {"name": user}
            )
    _check_workplace(workplace)
    profile, _created = StaffProfile.objects.get_or_create(user=user)
    before = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": old_role,
        "branch_id": profile.branch_id,
        "specialty_id": profile.specialty_id,
        "all_branches": profile.all_branches,
    }
    after = {"first_name": first_name, "last_name": last_name, **_workplace_details(workplace)}
    changed = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if not changed:
        return user
    user.first_name, user.last_name = first_name, last_name
    if workplace.role != old_role:
        user.groups.remove(*Group.objects.filter(name__in=Role.values))
        user.groups.add(Group.objects.get_or_create(name=workplace.role)[0])
        user.is_staff = workplace.role == Role.MANAGER or user.is_superuser
    user.save(update_fields=["first_name", "last_name", "is_staff"])
    profile.branch = workplace.branch
    profile.specialty = workplace.specialty
    profile.all_branches = workplace.all_branches
    profile.save(update_fields=["branch", "specialty", "all_branches"])
    audit_record(
        action=AuditAction.UPDATE,
        request=request,
        actor=actor,
        obj=user,
        details={"change": "staff_changed", "fields": changed},
    )
    return user


def sessions_end(*, user: User) -> int:
    """Deletes every session of ``user``: each of their browsers is logged out at its
    next request. Sessions live in the database (SESSION_ENGINE) and expire after the
    idle timeout, so the live ones are few: each is decoded to find the user's."""
    live = Session.objects.filter(expire_date__gt=timezone.now())
    keys = [
        session.session_key
        for session in live.iterator()
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    deleted, _by_model = Session.objects.filter(session_key__in=keys).delete()
    return deleted


@transaction.atomic
def staff_deactivate(*, request: HttpRequest | None, actor: User, user: User) -> int:
    """Deactivates a member: they can't log in, their sessions end at once, and the
    apps that gave them work take it back (``staff_deactivated``: the journeys return
    their open tasks to their branch's unassigned tasks). Returns how many sessions
    were ended."""
    _check_actor(actor)
    _lock_managers(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == actor.pk:
        raise StaffError(_("You can't deactivate yourself; ask another manager."))
    if not user.is_active:
        raise StaffError(_("%(name)s is already deactivated.") % {"name": user})
    if user.has_role(Role.MANAGER) and not _other_active_managers(user):
        raise StaffError(
            _("%(name)s is the only active manager and can't be deactivated.") % {"name": user}
        )
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = sessions_end(user=user)
    results = staff_deactivated.send(sender=User, user=user, actor=actor)
    released = {
        getattr(receiver, "__name__", str(receiver)): result for receiver, result in results
    }
    audit_record(
        action=AuditAction.UPDATE,
        request=request,
        actor=actor,
        obj=user,
        details={"change": "staff_deactivated", "sessions_ended": ended, "released": released},
    )
    return ended


@transaction.atomic
def staff_reactivate(*, request: HttpRequest | None, actor: User, user: User) -> None:
    """Lets a deactivated member log in again (with their password and second factor)."""
    _check_actor(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        raise StaffError(_("%(name)s is already active.") % {"name": user})
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(
        action=AuditAction.UPDATE,
        request=request,
        actor=actor,
        obj=user,
        details={"change": "staff_reactivated"},
    )
