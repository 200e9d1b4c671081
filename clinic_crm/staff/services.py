"""Staff accounts and their second factor."""

from __future__ import annotations

import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record

from .models import StaffProfile, User
from .roles import Role

if TYPE_CHECKING:
    from django_otp.models import Device

    from clinic_crm.catalogue.models import Branch, Specialty


class StaffError(Exception):
    """A staff-account operation that can't be done, with a message for the user."""


TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


@transaction.atomic
def staff_create(
    *,
    email: str,
    role: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    branch: Branch | None = None,
    all_branches: bool = False,
    specialty: Specialty | None = None,
    short_bio: str = "",
) -> tuple[User, str | None]:
    """Creates a staff member with one role. Returns the user and, when no password was
    given, the generated one (to be shown once)."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise StaffError(_("“%(email)s” is not a valid email address.") % {"email": email}) from exc
    if role not in Role.values:
        raise StaffError(
            _("Unknown role “%(role)s”. Choose one of: %(roles)s.")
            % {"role": role, "roles": ", ".join(Role.values)}
        )
    if User.objects.filter(email__iexact=email).exists():
        raise StaffError(
            _("A staff member with email %(email)s already exists.") % {"email": email}
        )
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    user = User(email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise StaffError(" ".join(exc.messages)) from exc
    user.set_password(password)
    user.is_staff = role == Role.MANAGER
    user.save()
    group, _created = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    StaffProfile.objects.create(
        user=user,
        branch=branch,
        all_branches=all_branches,
        specialty=specialty,
        short_bio=short_bio,
    )
    return user, generated


def has_confirmed_totp(user: User) -> bool:
    confirmed: bool = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return confirmed


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str
    config_url: str


def totp_enrolment_start(*, user: User) -> Enrolment:
    """Returns the user's pending (unconfirmed) authenticator, creating it once."""
    if has_confirmed_totp(user):
        raise StaffError(_("An authenticator is already set up for this account."))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return Enrolment(device=device, secret=secret, config_url=device.config_url)


def _throttle_message(info: dict[str, Any] | None) -> str:
    locked_until: datetime | None = (info or {}).get("locked_until")
    if locked_until:
        seconds = max(1, int((locked_until - timezone.now()).total_seconds() + 0.999))
        return _("Too many wrong codes. Try again in %(seconds)s s.") % {"seconds": seconds}
    return _("Too many wrong codes. Try again a little later.")


def totp_enrolment_confirm(*, request: HttpRequest, user: User, token: str) -> list[str]:
    """Confirms the pending authenticator with a valid code, verifies the session with
    it, and issues backup codes (returned once, to be shown to the user)."""
    # A wrong code must still count against the throttle and be audited, so failures
    # commit their bookkeeping and are raised only after the transaction ends.
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("id")
            .first()
        )
        if device is None:
            error = _("Start the set-up again: no authenticator is waiting for a code.")
        else:
            allowed, info = device.verify_is_allowed()
            if not allowed:
                error = _throttle_message(info)
            elif not device.verify_token(token.strip()):
                audit_record(
                    action=AuditAction.OTP_FAILURE,
                    request=request,
                    actor=user,
                    details={"step": "enrolment"},
                )
                error = _("That code is not right. Check the time on your phone and try again.")
            else:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                _session_verify(request, device)
                audit_record(action=AuditAction.OTP_ENROLLED, request=request, actor=user)
                return backup_codes_issue(request=request, user=user)
    raise StaffError(error)


@transaction.atomic
def backup_codes_issue(*, request: HttpRequest | None, user: User) -> list[str]:
    """Replaces the user's backup codes with a new set; old codes stop working."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.OTP_BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    audit_record(action=AuditAction.BACKUP_CODES_ISSUED, request=request, actor=user)
    return codes


def _session_verify(request: HttpRequest, device: Device) -> None:
    """Marks the session as verified by ``device`` under a new session key: a key that
    was seen before the second factor (it existed from the password step) must not be
    the one that opens data."""
    otp_login(request, device)
    request.session.cycle_key()


def _looks_like_totp(token: str) -> bool:
    return len(token) == 6 and token.isdigit()


def second_factor_verify(*, request: HttpRequest, user: User, token: str) -> None:
    """Checks a code from the authenticator app or a backup code and, when it is right,
    marks the session as verified. Wrong codes are throttled per device; a code that was
    already used is refused (TOTP time steps only move forward, backup codes are
    deleted on use). Raises StaffError with the reason otherwise."""
    error = _second_factor_check(request=request, user=user, token=token)
    if error:
        raise StaffError(error)


@transaction.atomic
def _second_factor_check(*, request: HttpRequest, user: User, token: str) -> str | None:
    # Returns the error instead of raising it so that the throttle counters and the
    # audit rows of a failed attempt are committed, not rolled back.
    token = token.strip().replace(" ", "").lower()
    model = TOTPDevice if _looks_like_totp(token) else StaticDevice
    devices = list(model.objects.select_for_update().filter(user=user, confirmed=True))
    if not devices:
        audit_record(action=AuditAction.OTP_FAILURE, request=request, actor=user)
        return _("That code is not right, or it was already used.")
    for device in devices:
        allowed, info = device.verify_is_allowed()
        if not allowed:
            audit_record(
                action=AuditAction.OTP_FAILURE,
                request=request,
                actor=user,
                details={"reason": "throttled"},
            )
            return _throttle_message(info)
    for device in devices:
        if device.verify_token(token):
            _session_verify(request, device)
            audit_record(
                action=AuditAction.OTP_SUCCESS,
                request=request,
                actor=user,
                details={"method": "backup_code" if model is StaticDevice else "totp"},
            )
            return None
    audit_record(action=AuditAction.OTP_FAILURE, request=request, actor=user)
    return _("That code is not right, or it was already used.")


@transaction.atomic
def second_factor_reset(*, request: HttpRequest, actor: User, user: User) -> None:
    """Removes all of ``user``'s second-factor devices; at the next login they enrol
    again. Their open sessions lose verification at once."""
    if actor.pk == user.pk:
        raise StaffError(_("You can't reset your own second factor; ask another manager."))
    if not actor.has_perm("staff.reset_second_factor"):
        raise StaffError(_("Only managers can reset a second factor."))
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_record(
        action=AuditAction.OTP_RESET,
        request=request,
        actor=actor,
        obj=user,
        details={"target_user_id": user.pk},
    )
