"""Kiosk mode: the reception's tablet on which patients answer their survey.

- A manager registers a tablet for a branch and is shown a pairing secret once (kept only
  as its SHA-256 hash, usable once, for ``PAIRING_HOURS``). The tablet that opens the
  pairing link gets its own credential in a cookie — ``<prefix>.<secret>``, found by the
  public prefix and checked against the stored hash — which nobody is ever shown.
  Pairing again replaces the credential; revoking refuses the tablet from then on.
- The patient types the six digits printed on their visit slip (``KioskCode``, made on
  demand), or the administrator sends the completed visit's survey to the branch's
  tablets ("next patient"), which show it on their start screen.
- A tablet only opens surveys of visits at its own branch. Answers are recorded by
  ``survey_answer_record`` (channel "kiosk"), each with the key the tablet's browser gave
  it, so an answer sent again after the network came back counts once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.catalogue.models import Branch
from clinic_crm.forms import has_control_characters
from clinic_crm.limits import text_problem
from clinic_crm.staff.home import home_card_register
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from journeys.models import Visit

from .answers import AnswerOutcome, survey_answer_record
from .models import ResponseChannel, Survey, SurveyInvitation
from .models_kiosk import KIOSK_CODE_LENGTH, KioskAnswerKey, KioskCode, KioskDevice
from .services import FeedbackError

COOKIE_NAME = "kiosk_device"
COOKIE_MAX_AGE = 5 * 365 * 24 * 3600  # a tablet stays paired until revoked
PAIRING_HOURS = 24
NAME_MAX = 100
# "Next patient" is shown by a tablet that asks within this time of the push.
PUSH_FRESH = timedelta(minutes=15)
# Wrong codes typed on one tablet, at most, per window: guessing a code costs time.
WRONG_CODES_MAX = 20
WRONG_CODES_WINDOW_SECONDS = 10 * 60
LAST_SEEN_EVERY = timedelta(minutes=1)
# Completed visits the administrator can send to the tablet: those ended this long ago.
PUSH_CANDIDATES_HOURS = 12


class KioskRefused(FeedbackError):
    """The tablet can't open this survey; ``reason`` says why (the page to show)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- devices --------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairing:
    """A device and its pairing secret, which only this return value ever holds."""

    device: KioskDevice
    secret: str


def _pairing_arm(device: KioskDevice, now: datetime) -> str:
    secret = secrets.token_urlsafe(18)
    device.pairing_hash = _digest(secret)
    device.pairing_expires_at = now + timedelta(hours=PAIRING_HOURS)
    return secret


@transaction.atomic
def kiosk_device_register(*, actor: User, name: str, branch: Branch) -> Pairing:
    """Registers a tablet for ``branch``; the secret that pairs it is returned once."""
    name = name.strip()
    if not name:
        raise FeedbackError({"name": _("Give the tablet a name, e.g. “Reception, 1st floor”.")})
    problem = text_problem(name, limit=NAME_MAX)
    if problem:
        raise FeedbackError({"name": problem})
    now = timezone.now()
    device = KioskDevice(name=name, branch=branch, created_by=actor, created_at=now)
    secret = _pairing_arm(device, now)
    device.save()
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=device,
        details={"name": device.name, "branch": branch.pk},
    )
    return Pairing(device=device, secret=secret)


@transaction.atomic
def kiosk_device_pairing_renew(*, actor: User, device: KioskDevice) -> Pairing:
    """A new pairing secret (a tablet was reset or replaced); the tablet paired before
    stops working."""
    device = KioskDevice.objects.select_for_update().get(pk=device.pk)
    if device.revoked_at is not None:
        raise FeedbackError(_("This tablet was revoked; register a new one."))
    now = timezone.now()
    secret = _pairing_arm(device, now)
    device.key_prefix = device.key_hash = ""
    device.paired_at = None
    device.save(
        update_fields=["pairing_hash", "pairing_expires_at", "key_prefix", "key_hash", "paired_at"]
    )
    audit_record(action=AuditAction.UPDATE, actor=actor, obj=device, details={"pairing": "renewed"})
    return Pairing(device=device, secret=secret)


@transaction.atomic
def kiosk_device_revoke(*, actor: User, device: KioskDevice) -> KioskDevice:
    """Refuses the tablet from now on (its next request shows "no longer registered")."""
    now = timezone.now()
    revoked = KioskDevice.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
        revoked_at=now, pairing_hash="", pairing_expires_at=None, current_invitation=None
    )
    device.refresh_from_db()
    if revoked:
        audit_record(action=AuditAction.UPDATE, actor=actor, obj=device, details={"revoked": True})
    return device


@transaction.atomic
def kiosk_device_pair(*, secret: str, now: datetime | None = None) -> tuple[KioskDevice, str]:
    """Pairs the tablet that presents ``secret`` (once): returns the device and the
    credential for its cookie."""
    now = now or timezone.now()
    secret = secret.strip()
    if not secret or len(secret) > 200:
        raise KioskRefused("pairing", _("This pairing link does not work."))
    prefix = secrets.token_hex(6)
    credential = f"{prefix}.{secrets.token_urlsafe(32)}"
    paired = KioskDevice.objects.filter(
        pairing_hash=_digest(secret), pairing_expires_at__gt=now, revoked_at__isnull=True
    ).update(
        pairing_hash="",
        pairing_expires_at=None,
        key_prefix=prefix,
        key_hash=_digest(credential),
        paired_at=now,
        last_seen_at=now,
    )
    if not paired:
        raise KioskRefused(
            "pairing",
            _(
                "This pairing link does not work: it was used already or has expired. "
                "Ask a manager for a new one."
            ),
        )
    device = KioskDevice.objects.select_related("branch").get(key_prefix=prefix)
    audit_record(action=AuditAction.UPDATE, obj=device, details={"paired": True})
    return device, credential


def kiosk_device_for(credential: str | None) -> KioskDevice | None:
    """The device whose credential this is (revoked ones too: they get their own page),
    or None."""
    if not credential or len(credential) > 200 or "." not in credential:
        return None
    prefix = credential.split(".", 1)[0]
    device = (
        KioskDevice.objects.select_related("branch")
        .filter(key_prefix=prefix)
        .exclude(key_prefix="")
        .first()
    )
    if device is None or not hmac.compare_digest(device.key_hash, _digest(credential)):
        return None
    return device


def kiosk_device_seen(device: KioskDevice, now: datetime | None = None) -> None:
    """Notes that the tablet is on (at most once a minute: its start screen polls)."""
    now = now or timezone.now()
    KioskDevice.objects.filter(pk=device.pk).filter(
        Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - LAST_SEEN_EVERY)
    ).update(last_seen_at=now)


def kiosk_devices(branch_ids: frozenset[int] | None) -> QuerySet[KioskDevice]:
    """The tablets of these branches (every branch when None), active ones first."""
    devices = KioskDevice.objects.select_related("branch", "created_by").order_by(
        "revoked_at", "branch__name", "name", "pk"
    )
    if branch_ids is not None:
        devices = devices.filter(branch_id__in=sorted(branch_ids))
    return devices


# --- codes and invitations --------------------------------------------------------------


def kiosk_code_for(*, invitation: SurveyInvitation, now: datetime | None = None) -> KioskCode:
    """The invitation's slip code, made the first time it is asked for."""
    now = now or timezone.now()
    for _attempt in range(50):
        existing = KioskCode.objects.filter(invitation=invitation).first()
        if existing is not None:
            return existing
        code = f"{secrets.randbelow(10**KIOSK_CODE_LENGTH):0{KIOSK_CODE_LENGTH}d}"
        try:
            with transaction.atomic():
                # An expired code's digits are free again.
                KioskCode.objects.filter(code=code, expires_at__lte=now).delete()
                return KioskCode.objects.create(
                    invitation=invitation,
                    code=code,
                    created_at=now,
                    expires_at=invitation.expires_at,
                )
        except IntegrityError:
            continue  # the digits are taken, or another request made this one's code
    raise FeedbackError(_("No free code could be drawn; try again."))


def _open_invitation(
    device: KioskDevice, invitation: SurveyInvitation, now: datetime
) -> SurveyInvitation:
    if invitation.visit.branch_id != device.branch_id:
        raise KioskRefused(
            "other_branch",
            _(
                "This code is for a visit at another branch of the clinic. "
                "Please ask at the reception."
            ),
        )
    if invitation.finished_at is not None:
        raise KioskRefused("answered", _("This survey has already been answered. Thank you!"))
    if invitation.expires_at <= now:
        raise KioskRefused("expired", _("This survey is closed. Thank you for your time."))
    return invitation


def _invitations() -> QuerySet[SurveyInvitation]:
    return SurveyInvitation.objects.select_related(
        "patient", "visit", "survey", "response"
    ).exclude(survey__kind=Survey.Kind.RECOVERY)


def kiosk_invitation_by_code(
    *, device: KioskDevice, code: str, now: datetime | None = None
) -> SurveyInvitation:
    """The open invitation of the visit at the tablet's branch whose slip has ``code``;
    refuses another branch's, a used or expired one, and too many wrong codes."""
    now = now or timezone.now()
    wrong_codes = f"kiosk:wrong-codes:{device.key_prefix}"  # random per pairing
    if (cache.get(wrong_codes) or 0) >= WRONG_CODES_MAX:
        raise KioskRefused(
            "throttled", _("Too many wrong codes. Please ask at the reception for help.")
        )
    digits = "".join(code.split())
    found = None
    if len(digits) == KIOSK_CODE_LENGTH and digits.isascii() and digits.isdigit():
        found = (
            KioskCode.objects.filter(code=digits, expires_at__gt=now)
            .values_list("invitation_id", flat=True)
            .first()
        )
    invitation = _invitations().filter(pk=found).first() if found is not None else None
    if invitation is None:
        cache.add(wrong_codes, 0, timeout=WRONG_CODES_WINDOW_SECONDS)
        try:
            cache.incr(wrong_codes)
        except ValueError:  # expired between add and incr
            cache.set(wrong_codes, 1, timeout=WRONG_CODES_WINDOW_SECONDS)
        raise KioskRefused(
            "unknown", _("We could not find this code. Check the six digits on your visit slip.")
        )
    return _open_invitation(device, invitation, now)


def kiosk_answer_known(key: str) -> bool:
    """Whether an answer with this idempotency key was recorded already."""
    return KioskAnswerKey.objects.filter(key=key).exists()


def kiosk_pushed_take(
    *, device: KioskDevice, now: datetime | None = None
) -> SurveyInvitation | None:
    """The survey the administrator sent to this tablet, if fresh and still open; taken
    (by the first tablet of the branch that asks), so it shows once."""
    now = now or timezone.now()
    invitation_id = device.current_invitation_id
    if invitation_id is None:
        return None
    with transaction.atomic():
        taken = KioskDevice.objects.filter(
            pk=device.pk, current_invitation_id=invitation_id, pushed_at__gt=now - PUSH_FRESH
        ).update(current_invitation=None, pushed_at=None)
        KioskDevice.objects.filter(current_invitation_id=invitation_id).update(
            current_invitation=None, pushed_at=None
        )
    if not taken:
        return None
    invitation = _invitations().filter(pk=invitation_id).first()
    if invitation is None:
        return None
    try:
        return _open_invitation(device, invitation, now)
    except KioskRefused:
        return None


def kiosk_pushed_code(*, device: KioskDevice, now: datetime | None = None) -> KioskCode | None:
    """The slip code of the survey sent to this tablet, taken (see ``kiosk_pushed_take``)."""
    now = now or timezone.now()
    invitation = kiosk_pushed_take(device=device, now=now)
    return None if invitation is None else kiosk_code_for(invitation=invitation, now=now)


# --- the administrator: slip codes and "next patient" ------------------------------------


def kiosk_push_candidates(
    visits: QuerySet[Visit], now: datetime | None = None
) -> QuerySet[SurveyInvitation]:
    """Open survey invitations of completed visits among ``visits`` (already cut to the
    administrator's patients and branches) that ended in the last hours, latest first."""
    now = now or timezone.now()
    return (
        _invitations()
        .select_related("visit__doctor", "visit__branch", "kiosk_code")
        .filter(
            visit__in=visits.filter(
                status=Visit.Status.COMPLETED,
                ends_at__gte=now - timedelta(hours=PUSH_CANDIDATES_HOURS),
            ),
            finished_at__isnull=True,
            expires_at__gt=now,
        )
        .order_by("-visit__ends_at", "-pk")
    )


def _visit_invitation(visit: Visit, now: datetime) -> SurveyInvitation:
    if visit.status != Visit.Status.COMPLETED:
        raise FeedbackError(_("Only a completed visit can be sent to the tablet."))
    invitation = _invitations().filter(visit=visit).order_by("-created_at").first()
    if invitation is None:
        raise FeedbackError(_("This visit has no survey: the patient is not asked this time."))
    if invitation.finished_at is not None:
        raise FeedbackError(_("The patient has already answered this survey."))
    if invitation.expires_at <= now:
        raise FeedbackError(_("This visit's survey is closed."))
    return invitation


def kiosk_visit_code(*, visit: Visit, now: datetime | None = None) -> KioskCode:
    """The slip code of a completed visit's open survey (made on first request)."""
    now = now or timezone.now()
    return kiosk_code_for(invitation=_visit_invitation(visit, now), now=now)


@transaction.atomic
def kiosk_push(*, actor: User, visit: Visit, now: datetime | None = None) -> int:
    """ "Next patient": shows the completed visit's survey on its branch's active tablets
    (the first that takes it). Returns how many tablets were told."""
    now = now or timezone.now()
    invitation = _visit_invitation(visit, now)
    told = KioskDevice.objects.filter(
        branch_id=visit.branch_id, revoked_at__isnull=True, paired_at__isnull=False
    ).update(current_invitation=invitation, pushed_at=now)
    if not told:
        raise FeedbackError(_("No tablet is paired at this branch."))
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=invitation,
        details={"kiosk_push": True, "tablets": told},
    )
    return told


# --- answers -----------------------------------------------------------------------------

STEPS = ("nps", "details", "partial")


@transaction.atomic
def kiosk_answer_record(
    *,
    device: KioskDevice,
    idempotency_key: str,
    invitation: SurveyInvitation,
    step: str,
    nps_score: object = None,
    answers: dict[str, Any] | None = None,
    comment: str = "",
    now: datetime | None = None,
) -> AnswerOutcome | None:
    """Records one step's answers from the tablet, once per ``idempotency_key``: None
    when that key was recorded before (a replay). ``step`` is "nps" (the score),
    "details" (every aspect asked, the comment; the survey is finished) or "partial"
    (whatever was answered when the tablet timed out; the link stays open). A refused
    answer records nothing, its key neither."""
    if step not in STEPS:
        raise FeedbackError(_("Unknown survey step."))
    if has_control_characters(comment):
        raise FeedbackError(
            {"comment": _("The text contains invisible control characters; remove them.")}
        )
    try:
        with transaction.atomic():
            KioskAnswerKey.objects.create(
                key=idempotency_key,
                device=device,
                invitation=invitation,
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        return None
    if step == "nps":
        return survey_answer_record(
            invitation=invitation,
            channel=ResponseChannel.KIOSK,
            nps_score=nps_score,
            require=("nps",),
            now=now,
        )
    return survey_answer_record(
        invitation=invitation,
        channel=ResponseChannel.KIOSK,
        nps_score=nps_score if step == "partial" else None,
        answers=answers or {},
        comment=comment,
        finish=step == "details",
        require=("answers",) if step == "details" else (),
        now=now,
    )


def register() -> None:
    """The managers' and administrators' home cards (called from FeedbackConfig.ready)."""
    home_card_register(
        role=Role.MANAGER,
        url_name="kiosk:devices",
        title=gettext_lazy("Reception tablets"),
        text=gettext_lazy("Register the tablets on which patients answer surveys."),
        icon="tablet",
        order=60,
    )
    home_card_register(
        role=Role.ADMINISTRATOR,
        url_name="kiosk:visits",
        title=gettext_lazy("Reception tablet"),
        text=gettext_lazy("Slip codes and “next patient” for today's completed visits."),
        icon="tablet",
        order=50,
    )
