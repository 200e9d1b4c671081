"""The reception's tablet (kiosk mode): the registered devices, the short codes printed on
visit slips, and the answers' idempotency keys.

A device holds a credential in a cookie; the database keeps only its SHA-256 hash and a
short public prefix to find it by (``feedback.kiosk``). Pairing uses a one-time secret,
also kept only as a hash, which the manager is shown once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import SurveyInvitation

KIOSK_CODE_LENGTH = 6


class KioskDevice(models.Model):
    """A tablet at a branch's reception: patients answer their survey on it by the code
    on their visit slip, or the one the administrator sends to it ("next patient")."""

    name = models.CharField(_("name"), max_length=100)
    branch = models.ForeignKey(
        "catalogue.Branch",
        on_delete=models.PROTECT,
        related_name="kiosk_devices",
        verbose_name=_("branch"),
    )
    # The tablet's credential (in its cookie): found by the prefix, checked by the hash.
    key_prefix = models.CharField(_("key prefix"), max_length=16, blank=True)
    key_hash = models.CharField(_("key hash"), max_length=64, blank=True)
    # The one-time pairing secret shown to the manager, until a tablet uses it.
    pairing_hash = models.CharField(_("pairing secret hash"), max_length=64, blank=True)
    pairing_expires_at = models.DateTimeField(_("pairing link expires"), null=True, blank=True)
    paired_at = models.DateTimeField(_("tablet paired"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("tablet registered by"),
    )
    created_at = models.DateTimeField(_("tablet registered"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("tablet last seen"), null=True, blank=True)
    # "Next patient": the invitation the administrator sent to the tablet, until it shows it.
    current_invitation = models.ForeignKey(
        SurveyInvitation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("survey sent to the tablet"),
    )
    pushed_at = models.DateTimeField(_("sent to the tablet"), null=True, blank=True)

    class Meta:
        verbose_name = _("reception tablet")
        verbose_name_plural = _("reception tablets")
        ordering = ["branch__name", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["key_prefix"],
                condition=~models.Q(key_prefix=""),
                name="kiosk_device_key_prefix_unique",
            ),
            models.UniqueConstraint(
                fields=["pairing_hash"],
                condition=~models.Q(pairing_hash=""),
                name="kiosk_device_pairing_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KioskCode(models.Model):
    """The six digits on a visit slip that open the visit's survey on the branch's tablet.
    Made when first asked for; unique (an expired code's digits are taken back when
    drawn again), valid as long as the invitation's link."""

    invitation = models.OneToOneField(
        SurveyInvitation,
        on_delete=models.CASCADE,
        related_name="kiosk_code",
        verbose_name=_("survey invitation"),
    )
    code = models.CharField(_("code"), max_length=KIOSK_CODE_LENGTH, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("code expires"))

    class Meta:
        verbose_name = _("tablet code")
        verbose_name_plural = _("tablet codes")

    def __str__(self) -> str:
        return self.code


class KioskAnswerKey(models.Model):
    """An answer the tablet sent, by the key its browser gave it: a replay (the queue sent
    again after the network came back) finds it here and records nothing twice."""

    key = models.UUIDField(_("idempotency key"), unique=True)
    device = models.ForeignKey(
        KioskDevice, on_delete=models.CASCADE, related_name="+", verbose_name=_("reception tablet")
    )
    invitation = models.ForeignKey(
        SurveyInvitation,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("survey invitation"),
    )
    created_at = models.DateTimeField(_("received from the tablet"), default=timezone.now)

    class Meta:
        verbose_name = _("tablet answer key")
        verbose_name_plural = _("tablet answer keys")

    def __str__(self) -> str:
        return str(self.key)
