"""Writes to patient cards and consents. Views, the API, the admin and other apps call
these; none of them saves a Patient or a ConsentRecord on its own."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.catalogue.models import Branch

from . import selectors
from .models import (
    DEFAULT_TIME_ZONE,
    ConsentChannel,
    ConsentKind,
    ConsentRecord,
    FamilyGroup,
    Language,
    Patient,
)
from .validators import normalize_phone

if TYPE_CHECKING:
    from clinic_crm.staff.models import User


class PatientError(Exception):
    """A change to a patient card or consent that can't be made, with a message for the
    user. ``field`` names the form field the message belongs to, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# Fields a person may set on a card through patient_create / patient_update.
EDITABLE_FIELDS = (
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "phone",
    "email",
    "preferred_channel",
    "preferred_language",
    "time_zone",
    "source",
    "referred_by",
    "family_group",
    "home_branch",
    "telegram_chat_id",
    "is_archived",
    "is_deceased",
)
_TEXT_FIELDS = {
    "last_name",
    "first_name",
    "middle_name",
    "phone",
    "email",
    "time_zone",
    "telegram_chat_id",
}
# When merging, these are taken from the duplicate where the kept card has none.
_MERGE_FILL_FIELDS = (
    "middle_name",
    "birth_date",
    "phone",
    "email",
    "preferred_channel",
    "telegram_chat_id",
    "source",
    "referred_by",
    "family_group",
    "home_branch",
)


def _patient_field(name: str) -> models.Field[Any, Any]:
    # EDITABLE_FIELDS and _MERGE_FILL_FIELDS name Patient's own columns, never a reverse
    # relation.
    return cast("models.Field[Any, Any]", Patient._meta.get_field(name))


def _max_length(model: type[models.Model], name: str) -> int:
    # Asked only of CharFields (columns, not relations), which always declare a max_length.
    field = cast("models.Field[Any, Any]", model._meta.get_field(name))
    return cast(int, field.max_length)


def _apply(patient: Patient, values: dict[str, Any]) -> list[str]:
    """Cleans ``values``, sets them on ``patient`` and validates the card. Returns the
    names of the fields whose value changed. Raises PatientError."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise PatientError(
            _("These patient fields can't be set: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    changed = []
    for name, value in values.items():
        if name in _TEXT_FIELDS:
            value = (value or "").strip()
        if name == "phone":
            try:
                value = normalize_phone(value)
            except ValidationError as exc:
                raise PatientError(exc.messages[0], field="phone") from exc
        if name == "email":
            value = value.lower()
        if name in {"preferred_channel", "source"}:
            value = value or ""
        model_field = _patient_field(name)
        if getattr(patient, model_field.attname) != _raw(model_field, value):
            changed.append(name)
        setattr(patient, name, value)

    if patient.birth_date and patient.birth_date > timezone.localdate():
        raise PatientError(_("The birth date is in the future."), field="birth_date")
    if patient.birth_date and patient.birth_date < datetime.date(1900, 1, 1):
        raise PatientError(_("The birth date is before 1900."), field="birth_date")
    referrer = patient.referred_by
    if referrer is not None:
        if patient.pk is not None and referrer.pk == patient.pk:
            raise PatientError(_("A patient can't refer themselves."), field="referred_by")
        if referrer.merged_into_id is not None:
            raise PatientError(
                _("Card #%(id)s was merged into card #%(target)s; choose that one.")
                % {"id": referrer.pk, "target": referrer.merged_into_id},
                field="referred_by",
            )
    try:
        patient.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise PatientError(messages[0], field=None if field == "__all__" else field) from exc
    return changed


def _raw(field: models.Field[Any, Any], value: Any) -> Any:
    if field.is_relation and isinstance(value, models.Model):
        return value.pk
    return value


@transaction.atomic
def patient_create(
    *,
    actor: User | None,
    last_name: str,
    first_name: str,
    middle_name: str = "",
    birth_date: datetime.date | None = None,
    phone: str = "",
    email: str = "",
    preferred_channel: str = "",
    preferred_language: str = Language.RUSSIAN,
    time_zone: str = DEFAULT_TIME_ZONE,
    source: str = "",
    referred_by: Patient | None = None,
    family_group: FamilyGroup | None = None,
    home_branch: Branch | None = None,
    telegram_chat_id: str = "",
    is_archived: bool = False,
    is_deceased: bool = False,
    request: HttpRequest | None = None,
) -> tuple[Patient, list[Patient]]:
    """Creates a card (phone normalized to E.164) and returns it with the live cards it
    likely duplicates: the same phone, or the same last and first name and birth date.
    The duplicates are not a reason to refuse; the caller shows them."""
    patient = Patient()
    _apply(
        patient,
        {
            "last_name": last_name,
            "first_name": first_name,
            "middle_name": middle_name,
            "birth_date": birth_date,
            "phone": phone,
            "email": email,
            "preferred_channel": preferred_channel,
            "preferred_language": preferred_language,
            "time_zone": time_zone,
            "source": source,
            "referred_by": referred_by,
            "family_group": family_group,
            "home_branch": home_branch,
            "telegram_chat_id": telegram_chat_id,
            "is_archived": is_archived,
            "is_deceased": is_deceased,
        },
    )
    patient.save()
    duplicates = list(selectors.likely_duplicates(patient=patient))
    details = {"possible_duplicates": [p.pk for p in duplicates]} if duplicates else None
    audit_record(
        action=AuditAction.CREATE, request=request, actor=actor, obj=patient, details=details
    )
    return patient, duplicates


@transaction.atomic
def patient_update(
    *,
    actor: User | None,
    patient: Patient,
    request: HttpRequest | None = None,
    **changes: Any,
) -> Patient:
    """Changes fields of a card (names as in ``EDITABLE_FIELDS``). The audit row names the
    changed fields, not their values."""
    current = Patient.objects.select_for_update().get(pk=patient.pk)
    if current.merged_into_id is not None:
        raise PatientError(
            _("This card was merged into card #%(id)s; edit that one.")
            % {"id": current.merged_into_id}
        )
    changed = _apply(current, changes)
    if changed:
        current.save()
        audit_record(
            action=AuditAction.UPDATE,
            request=request,
            actor=actor,
            obj=current,
            details={"fields": sorted(changed)},
        )
    return current


@transaction.atomic
def consent_record(
    *,
    patient: Patient,
    kind: str,
    channel: str,
    granted: bool,
    actor: User | None,
    text_version: str,
    note: str = "",
    request: HttpRequest | None = None,
) -> ConsentRecord:
    """Appends a grant or a revocation. A grant names the version of the consent text
    the patient agreed to; a revocation needs none."""
    if kind not in ConsentKind.values:
        raise PatientError(_("Unknown consent “%(kind)s”.") % {"kind": kind}, field="kind")
    if channel not in ConsentChannel.values:
        raise PatientError(
            _("Unknown channel “%(channel)s”.") % {"channel": channel}, field="channel"
        )
    text_version = (text_version or "").strip()
    if granted and not text_version:
        raise PatientError(
            _("Name the version of the consent text the patient agreed to."),
            field="text_version",
        )
    if len(text_version) > _max_length(ConsentRecord, "text_version"):
        raise PatientError(_("The text version is too long."), field="text_version")
    note = (note or "").strip()
    if len(note) > _max_length(ConsentRecord, "note"):
        raise PatientError(_("The note is too long."), field="note")
    merged_into = (
        Patient.objects.filter(pk=patient.pk).values_list("merged_into_id", flat=True).first()
    )
    if merged_into is not None:
        raise PatientError(
            _("This card was merged into card #%(id)s; record the consent there.")
            % {"id": merged_into}
        )
    record = ConsentRecord.objects.create(
        patient=patient,
        kind=kind,
        channel=channel,
        granted=bool(granted),
        recorded_by=actor,
        text_version=text_version,
        note=note,
    )
    audit_record(
        action=AuditAction.CREATE,
        request=request,
        actor=actor,
        obj=record,
        details={"kind": kind, "channel": channel, "granted": bool(granted)},
    )
    return record


@transaction.atomic
def family_link(
    *, actor: User | None, patient: Patient, relative: Patient, request: HttpRequest | None = None
) -> FamilyGroup:
    """Puts ``patient`` into ``relative``'s family (creating one named after the relative
    when they have none). A family the patient was in before joins it whole."""
    if patient.pk == relative.pk:
        raise PatientError(_("A patient can't be their own relative."), field="relative")
    locked = {
        p.pk: p
        for p in Patient.objects.select_for_update().filter(pk__in=[patient.pk, relative.pk])
    }
    patient, relative = locked[patient.pk], locked[relative.pk]
    for person in (patient, relative):
        if person.merged_into_id is not None:
            raise PatientError(
                _("Card #%(id)s was merged into card #%(target)s; choose that one.")
                % {"id": person.pk, "target": person.merged_into_id},
                field="relative",
            )
    group = relative.family_group
    if group is None:
        group = patient.family_group or FamilyGroup.objects.create(
            name=_("%(last_name)s family") % {"last_name": relative.last_name}
        )
        if relative.family_group_id != group.pk:
            relative.family_group = group
            relative.save(update_fields=["family_group", "updated_at"])
    elif patient.family_group_id not in (None, group.pk):
        Patient.objects.filter(family_group_id=patient.family_group_id).update(family_group=group)
    if patient.family_group_id != group.pk:
        patient.family_group = group
        patient.save(update_fields=["family_group", "updated_at"])
    for person in (patient, relative):
        audit_record(
            action=AuditAction.UPDATE,
            request=request,
            actor=actor,
            obj=person,
            details={"fields": ["family_group"]},
        )
    return group


@transaction.atomic
def family_unlink(
    *, actor: User | None, patient: Patient, request: HttpRequest | None = None
) -> None:
    """Takes ``patient`` out of their family."""
    updated = Patient.objects.filter(pk=patient.pk, family_group__isnull=False).update(
        family_group=None, updated_at=timezone.now()
    )
    if updated:
        patient.family_group = None
        audit_record(
            action=AuditAction.UPDATE,
            request=request,
            actor=actor,
            obj=patient,
            details={"fields": ["family_group"]},
        )


def _patient_relations() -> list[models.ForeignObjectRel]:
    """Every foreign key and one-to-one pointing at Patient, from any installed app,
    including the hidden ones of many-to-many tables."""
    # Auto-created, non-concrete one-to-many and one-to-one fields are reverse relations.
    return cast(
        "list[models.ForeignObjectRel]",
        [
            rel
            for rel in Patient._meta.get_fields(include_hidden=True)
            if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
        ],
    )


def _move_related(*, source: Patient, target: Patient) -> dict[str, int]:
    moved: dict[str, int] = {}
    for rel in _patient_relations():
        model, fk = rel.related_model, rel.field
        rows = model._base_manager.filter(**{fk.name: source})
        if model is Patient:
            # referred_by / merged_into of other cards; never make the target point at
            # itself (its own referred_by was cleared before).
            rows = rows.exclude(pk=target.pk)
        if rel.one_to_one and rows.exists():
            if model._base_manager.filter(**{fk.name: target}).exists():
                raise PatientError(
                    _(
                        "Both cards have a %(what)s; a card can only have one, so they can't "
                        "be merged. Remove one of them first."
                    )
                    % {"what": model._meta.verbose_name}
                )
        if model._meta.auto_created:
            # A plain many-to-many link table: a link the target already has is dropped
            # rather than duplicated.
            other = next(f for f in model._meta.fields if f.is_relation and f.name != fk.name)
            already = model._base_manager.filter(**{fk.name: target}).values(other.attname)
            rows.filter(**{f"{other.attname}__in": already}).delete()
        try:
            with transaction.atomic():
                count = rows.update(**{fk.name: target})
        except IntegrityError as exc:
            raise PatientError(
                _(
                    "The %(what)s records of both cards conflict, so they can't be merged "
                    "automatically."
                )
                % {"what": model._meta.verbose_name_plural}
            ) from exc
        except DatabaseError as exc:
            raise PatientError(
                _(
                    "The %(what)s records of card #%(id)s can't be moved, so the cards were "
                    "not merged."
                )
                % {"what": model._meta.verbose_name_plural, "id": source.pk}
            ) from exc
        if count:
            key = model._meta.label
            moved[key] = moved.get(key, 0) + count
    return moved


@transaction.atomic
def patient_merge(
    *,
    actor: User | None,
    source: Patient,
    target: Patient,
    request: HttpRequest | None = None,
) -> Patient:
    """Merges the duplicate card ``source`` into ``target`` and returns ``target``.

    Everything that points at ``source`` — consents, referrals, family, and the visits,
    plans, messages and responses of other apps, whichever models exist — moves to
    ``target``, found generically through Patient's reverse relations. Cards merged into
    ``source`` earlier now point at ``target``, so ``merged_into`` always names a live
    card. Fields empty on ``target`` are filled from ``source``. ``source`` stays, marked
    merged and archived, hidden from lists and search. All or nothing.
    """
    if source.pk == target.pk:
        raise PatientError(_("A patient card can't be merged into itself."))
    locked = {
        p.pk: p
        for p in Patient.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise PatientError(_("One of the cards no longer exists."))
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id is not None:
        raise PatientError(
            _("Card #%(id)s was already merged into card #%(target)s.")
            % {"id": source.pk, "target": source.merged_into_id}
        )
    if target.merged_into_id is not None:
        raise PatientError(
            _("Card #%(id)s was itself merged into card #%(target)s; merge into that one.")
            % {"id": target.pk, "target": target.merged_into_id}
        )

    filled = []
    if target.referred_by_id == source.pk:
        target.referred_by = None
    for name in _MERGE_FILL_FIELDS:
        field = _patient_field(name)
        theirs = getattr(source, field.attname)
        if getattr(target, field.attname) in (None, "") and theirs not in (None, ""):
            if name == "referred_by" and theirs == target.pk:
                continue
            setattr(target, field.attname, theirs)
            filled.append(name)
    if source.is_deceased and not target.is_deceased:
        target.is_deceased = True
        filled.append("is_deceased")
    target.save()

    # First mark the source merged: append-only tables (consents, journey events) let a
    # row change its patient only from a merged card to the card it was merged into.
    source.merged_into = target
    source.is_archived = True
    source.save(update_fields=["merged_into", "is_archived", "updated_at"])
    moved = _move_related(source=source, target=target)

    audit_record(
        action=AuditAction.UPDATE,
        request=request,
        actor=actor,
        obj=target,
        details={"merged_from": source.pk, "moved": moved, "fields": filled},
    )
    audit_record(
        action=AuditAction.UPDATE,
        request=request,
        actor=actor,
        obj=source,
        details={"merged_into": target.pk},
    )
    target.refresh_from_db()
    return target
