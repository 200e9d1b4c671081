from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Concat, Lower, Replace, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .validators import E164_PATTERN, format_phone, validate_phone_e164, validate_time_zone

DEFAULT_TIME_ZONE = "Europe/Moscow"


class Channel(models.TextChoices):
    """How the clinic reaches a patient."""

    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    TELEGRAM = "telegram", _("Telegram")
    PHONE_CALL = "phone_call", _("Phone call")


class ConsentChannel(models.TextChoices):
    SMS = Channel.SMS.value, Channel.SMS.label
    EMAIL = Channel.EMAIL.value, Channel.EMAIL.label
    TELEGRAM = Channel.TELEGRAM.value, Channel.TELEGRAM.label
    PHONE_CALL = Channel.PHONE_CALL.value, Channel.PHONE_CALL.label
    ANY = "any", _("Any channel")


class ConsentKind(models.TextChoices):
    PERSONAL_DATA = "personal_data", _("Personal data processing")
    REMINDERS = "reminders", _("Reminders")
    MARKETING = "marketing", _("Marketing")


class Language(models.TextChoices):
    RUSSIAN = "ru", _("Russian")
    ENGLISH = "en", _("English")


class Source(models.TextChoices):
    """Where the patient first came from."""

    WEBSITE = "website", _("Website")
    PHONE = "phone", _("Phone call")
    MESSENGER = "messenger", _("Messenger")
    REFERRAL = "referral", _("Referral")
    WALK_IN = "walk_in", _("Walk-in")
    OTHER = "other", _("Other")


def search_name_expression():
    """``lower("last first middle")`` with ё folded to е, computed by PostgreSQL.

    The selector folds the query the same way (``selectors.search_words``), so
    "федоров" finds "Фёдоров".
    """
    return Replace(
        Lower(
            Concat("last_name", models.Value(" "), "first_name", models.Value(" "), "middle_name")
        ),
        models.Value("ё"),
        models.Value("е"),
    )


class FamilyGroup(models.Model):
    """Patients of one family (parents and children, spouses) treated at the clinic."""

    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("family")
        verbose_name_plural = _("families")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Patient(models.Model):
    """A person the clinic treats: the patient card."""

    last_name = models.CharField(_("last name"), max_length=150)
    first_name = models.CharField(_("first name"), max_length=150)
    middle_name = models.CharField(_("middle name"), max_length=150, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(
        _("phone"),
        max_length=20,
        blank=True,
        help_text=_("E.164"),
        validators=[validate_phone_e164],
    )
    email = models.EmailField(_("email"), blank=True)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=16, choices=Channel.choices, blank=True
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.RUSSIAN
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=DEFAULT_TIME_ZONE,
        validators=[validate_time_zone],
        help_text=_("Reminders respect quiet hours in this zone."),
    )
    source = models.CharField(
        _("source of first contact"), max_length=16, choices=Source.choices, blank=True
    )
    referred_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=_("referred by"),
        db_index=False,  # partial index in Meta: most patients have no referrer
    )
    family_group = models.ForeignKey(
        FamilyGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("family"),
        db_index=False,  # partial index in Meta
    )
    telegram_chat_id = models.CharField(_("Telegram chat id"), max_length=64, blank=True)
    home_branch = models.ForeignKey(
        "catalogue.Branch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patients",
        verbose_name=_("home branch"),
    )
    is_archived = models.BooleanField(_("archived"), default=False)
    is_deceased = models.BooleanField(_("deceased"), default=False)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_records",
        verbose_name=_("merged into"),
        help_text=_("Set when this card was a duplicate and was merged into another."),
        db_index=False,  # partial index in Meta
    )
    # Who may open this card besides the staff of its home branch (patients.access): the
    # branches where the patient is cared for and the staff in whose care they are. Kept
    # by the database from the rows that make care — visits, plans, handoffs, tasks, the
    # waitlist (triggers of the journeys app; journeys_care_rebuild() recomputes them) —
    # so that the rule is a filter on the card itself, not a subquery per card.
    care_branch_ids = ArrayField(models.BigIntegerField(), default=list, blank=True, editable=False)
    care_staff_ids = ArrayField(models.BigIntegerField(), default=list, blank=True, editable=False)
    # Computed by PostgreSQL, so bulk inserts (COPY, bulk_create) can't get it wrong.
    search_name = models.GeneratedField(
        expression=search_name_expression(),
        output_field=models.CharField(max_length=460),
        db_persist=True,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["last_name", "first_name", "id"]
        permissions = [("merge_patient", "Can merge duplicate patient records")]
        indexes = [
            # Fragment search: LIKE '%петр%' on the folded name and on the phone.
            GinIndex(
                fields=["search_name"], opclasses=["gin_trgm_ops"], name="patient_search_name_trgm"
            ),
            GinIndex(fields=["phone"], opclasses=["gin_trgm_ops"], name="patient_phone_trgm"),
            # Exact phone (duplicate check, inbound messages).
            models.Index(fields=["phone"], name="patient_phone"),
            # Duplicate check by name and birth date; matches Django's iexact (UPPER(...)).
            models.Index(
                Upper("last_name"),
                Upper("first_name"),
                "birth_date",
                name="patient_name_birth_ci",
            ),
            # The list's order.
            models.Index(fields=["last_name", "first_name", "id"], name="patient_name_order"),
            # Self references are rare: index only the rows that have one.
            models.Index(
                fields=["referred_by"],
                condition=models.Q(referred_by__isnull=False),
                name="patient_referred_by",
            ),
            models.Index(
                fields=["merged_into"],
                condition=models.Q(merged_into__isnull=False),
                name="patient_merged_into",
            ),
            models.Index(
                fields=["family_group"],
                condition=models.Q(family_group__isnull=False),
                name="patient_family_group",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(phone="") | models.Q(phone__regex=E164_PATTERN),
                name="patient_phone_e164",
            ),
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("id")), name="patient_not_merged_into_self"
            ),
            models.CheckConstraint(
                condition=models.Q(merged_into__isnull=True) | models.Q(is_archived=True),
                name="patient_merged_is_archived",
            ),
            models.CheckConstraint(
                condition=~models.Q(referred_by=models.F("id")), name="patient_not_self_referred"
            ),
            models.CheckConstraint(
                condition=models.Q(preferred_language__in=Language.values),
                name="patient_language_known",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None


class ConsentRecord(models.Model):
    """One grant or revocation of a consent. Append-only: the current state of a consent
    is its latest record (``selectors.consent_state``). PostgreSQL refuses UPDATE and
    DELETE; the one UPDATE let through moves a record from a merged patient card to the
    card it was merged into."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="consents", verbose_name=_("patient")
    )
    kind = models.CharField(_("consent"), max_length=16, choices=ConsentKind.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentChannel.choices)
    granted = models.BooleanField(_("granted"), help_text=_("False records a revocation."))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    text_version = models.CharField(
        _("text version"),
        max_length=64,
        blank=True,
        help_text=_("Version of the consent text the patient agreed to, e.g. 2026-01."),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-recorded_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "kind", "channel", "-recorded_at"], name="consent_latest"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ConsentKind.values), name="consent_kind_known"
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=ConsentChannel.values),
                name="consent_channel_known",
            ),
        ]

    def __str__(self) -> str:
        state = _("granted") if self.granted else _("revoked")
        return f"{self.get_kind_display()} / {self.get_channel_display()}: {state}"
