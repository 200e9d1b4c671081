"""The one access rule for patient data.

A doctor or curator may see and act on

* the patients of their branches — registered there, or cared for there (a plan, a
  visit or a handoff to be booked at the branch), and
* every patient in their own care, in any branch — a visit with them, a plan they lead
  or curate, a handoff or task assigned to them.

An administrator acts within their branch, or in every branch when their staff profile
says so (the clinic's choice, per person: a call centre works all branches, a front desk
one). A manager reads every patient. Nobody else sees anything.

Pages, HTMX fragments, form lookups, list filters and the API all ask this module; an
id the user may not see answers 404 exactly as an id that does not exist.

What counts as care is kept on the card itself (``Patient.care_branch_ids`` and
``care_staff_ids``): the journeys app's triggers add to them from every visit, plan,
handoff, task and waitlist place (journeys migration 0013), so the rule is a filter on
the card and costs no subquery per card. A higher layer also tells the rule which
further branches a staff member works at (a doctor's working hours) through
:func:`care_register`, from its ``AppConfig.ready``, so this module imports nothing above
``patients``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from clinic_crm.staff.roles import Role

from .models import Patient

# Further branches a staff member works at, from the apps that know (a doctor's hours).
_staff_branches: list[Callable[[object], Iterable[int]]] = []

# Roles whose own care relationships open a patient's record.
CARE_ROLES = (Role.DOCTOR, Role.CURATOR)


def care_register(*, staff_branches: Callable[[object], Iterable[int]]) -> None:
    """How a higher app tells the rule where its staff work (called once from its
    ``AppConfig.ready``)."""
    if staff_branches not in _staff_branches:
        _staff_branches.append(staff_branches)


@dataclass(frozen=True)
class Scope:
    """What a staff member may see, worked out once per request."""

    user_id: int | None
    all_branches: bool
    branch_ids: frozenset[int]
    personal_care: bool
    # Read-only scope (managers): every patient may be read, nothing changed.
    read_only: bool = False

    @property
    def nothing(self) -> bool:
        return not self.all_branches and not self.branch_ids and not self.personal_care

    def covers_branch(self, branch_id: int | None) -> bool:
        return self.all_branches or (branch_id is not None and branch_id in self.branch_ids)


NO_ACCESS = Scope(user_id=None, all_branches=False, branch_ids=frozenset(), personal_care=False)


def scope_of(user) -> Scope:
    """The user's scope (cached on the user object for the request)."""
    cached = getattr(user, "_patient_scope", None)
    if cached is not None:
        return cached
    scope = _compute_scope(user)
    try:
        user._patient_scope = scope
    except AttributeError:  # AnonymousUser and the like
        pass
    return scope


def _compute_scope(user) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False) or user.role is None:
        return NO_ACCESS
    if user.has_role(Role.MANAGER) and not user.has_role(*CARE_ROLES, Role.ADMINISTRATOR):
        return Scope(
            user_id=user.pk,
            all_branches=True,
            branch_ids=frozenset(),
            personal_care=False,
            read_only=True,
        )
    profile = getattr(user, "profile", None)
    home = getattr(profile, "branch_id", None)
    if user.has_role(Role.ADMINISTRATOR) and getattr(profile, "all_branches", False):
        return Scope(
            user_id=user.pk, all_branches=True, branch_ids=frozenset(), personal_care=False
        )
    branches = {home} if home is not None else set()
    for provider in _staff_branches:
        branches.update(provider(user))
    return Scope(
        user_id=user.pk,
        all_branches=False,
        branch_ids=frozenset(branches),
        personal_care=user.has_role(*CARE_ROLES),
    )


def visible_condition(scope: Scope, prefix: str = "") -> Q | None:
    """The rule as a condition on Patient, or on rows pointing to one with ``prefix``
    (e.g. ``"patient__"``); None when the scope sees every patient."""
    if scope.all_branches:
        return None
    if scope.nothing:
        return Q(pk__in=[])
    condition = Q()
    if scope.branch_ids:
        branches = sorted(scope.branch_ids)
        condition |= Q(**{f"{prefix}home_branch_id__in": branches})
        condition |= Q(**{f"{prefix}care_branch_ids__overlap": branches})
    if scope.personal_care and scope.user_id is not None:
        condition |= Q(**{f"{prefix}care_staff_ids__contains": [scope.user_id]})
    return condition


def patients_visible(user, patients: QuerySet[Patient] | None = None) -> QuerySet[Patient]:
    """``patients`` (all cards by default, merged ones included) cut to what ``user``
    may see."""
    patients = Patient.objects.all() if patients is None else patients
    condition = visible_condition(scope_of(user))
    return patients if condition is None else patients.filter(condition)


def restrict(user, queryset: QuerySet, *, patient_field: str = "patient") -> QuerySet:
    """Any queryset of rows that belong to a patient (visits, plans, tasks…), cut to the
    rows whose patient ``user`` may see."""
    condition = visible_condition(scope_of(user), prefix=f"{patient_field}__")
    return queryset if condition is None else queryset.filter(condition)


def patient_or_404(user, patient_id, patients: QuerySet[Patient] | None = None) -> Patient:
    """The patient with this id if ``user`` may see it; else 404, as if there were none."""
    try:
        return patients_visible(user, patients).get(pk=patient_id)
    except (Patient.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc


def can_see(user, patient_id: int | None) -> bool:
    if patient_id is None:
        return False
    return patients_visible(user).filter(pk=patient_id).exists()


# --- Named checks for actions on the card (views ask these, never the role alone) -----

# Registering and editing cards, recording consents, family links: the front desk and
# care coordinators.
EDITOR_ROLES = (Role.ADMINISTRATOR, Role.CURATOR)
# Merging duplicates is a data-quality decision: administrators and managers.
MERGER_ROLES = (Role.ADMINISTRATOR, Role.MANAGER)


def can_edit_patient(user, patient: Patient) -> bool:
    """Edit the card, record consents, link the family: an editor who may see it."""
    return user.has_role(*EDITOR_ROLES) and not patient.is_merged and can_see(user, patient.pk)


def can_merge_patients(user) -> bool:
    return user.has_role(*MERGER_ROLES)
