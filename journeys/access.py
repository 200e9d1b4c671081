"""What care means in the journeys' data, and the named checks for actions on visits,
plans and tasks.

The rule itself (who sees which patient) is ``patients.access``; this app keeps on the
card what makes a patient "cared for at a branch" and "in a staff member's care" (its
triggers, migration 0013), tells the rule where doctors work (``JourneysConfig.ready``),
fetches journey objects through the rule, and answers the
questions views ask before an action: may this user complete *this* visit, close *this*
task, book at *this* branch. Views never decide by role alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404

from clinic_crm.catalogue.models import Branch
from clinic_crm.staff.roles import Role
from patients import access as patient_access

from .models import Task, TreatmentPlan, Visit, WorkingHours

# --- what care is -------------------------------------------------------------------------
# Care itself (a visit, a plan, a handoff, a task, a waitlist place) is kept on the patient
# card by this app's triggers (migration 0013, journeys_care_rebuild()); patients.access
# reads it there. What only this app knows and Python tells: where a doctor works.


def doctor_branches(user) -> Iterable[int]:
    """A doctor works at every branch where they have working hours."""
    if not user.has_role(Role.DOCTOR):
        return ()
    return WorkingHours.objects.filter(doctor_id=user.pk).values_list("branch_id", flat=True)


def care_rebuild() -> int:
    """Recomputes every card's care from the rows as they are (after a bulk load that
    skipped the triggers). Returns how many cards changed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT journeys_care_rebuild()")
        return cursor.fetchone()[0]


def register() -> None:
    patient_access.care_register(staff_branches=doctor_branches)


# --- fetching journey objects through the rule ------------------------------------------


def _one_or_404(user, queryset: QuerySet, pk):
    try:
        return patient_access.restrict(user, queryset).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc


def visit_or_404(user, visit_id, visits: QuerySet[Visit] | None = None) -> Visit:
    return _one_or_404(user, Visit.objects.all() if visits is None else visits, visit_id)


def plan_or_404(user, plan_id, plans: QuerySet[TreatmentPlan] | None = None) -> TreatmentPlan:
    return _one_or_404(user, TreatmentPlan.objects.all() if plans is None else plans, plan_id)


def task_or_404(user, task_id, tasks: QuerySet[Task] | None = None) -> Task:
    return _one_or_404(user, Task.objects.all() if tasks is None else tasks, task_id)


def visits_visible(user, visits: QuerySet[Visit]) -> QuerySet[Visit]:
    return patient_access.restrict(user, visits)


# --- branches a user works with ----------------------------------------------------------


def branches_of(user) -> QuerySet[Branch]:
    """The branches whose calendar, routing queue and unassigned tasks the user works
    with: every branch for managers and all-branch administrators, else theirs."""
    scope = patient_access.scope_of(user)
    branches = Branch.objects.order_by("name")
    if scope.all_branches:
        return branches
    return branches.filter(pk__in=sorted(scope.branch_ids))


def covers_branch(user, branch_id: int | None) -> bool:
    return patient_access.scope_of(user).covers_branch(branch_id)


# --- named checks for actions -------------------------------------------------------------


def can_schedule_at(user, branch_id: int | None) -> bool:
    """Book, move, cancel, mark arrival or no-show at this branch: an administrator of
    the branch (or of every branch)."""
    return user.has_role(Role.ADMINISTRATOR) and covers_branch(user, branch_id)


def can_change_visit(user, visit: Visit) -> bool:
    return can_schedule_at(user, visit.branch_id)


def can_complete_visit(user, visit: Visit) -> bool:
    """Only the visit's own doctor completes it (to hand a visit to a colleague, the
    front desk moves it to them first)."""
    return user.has_role(Role.DOCTOR) and visit.doctor_id == user.pk


def can_write_journey(user) -> bool:
    """Notes, plan decisions, a new lead doctor: doctors and curators, on a patient they
    may see (the object was fetched through the rule)."""
    return user.has_role(Role.DOCTOR, Role.CURATOR)


def can_close_task(user, task: Task) -> bool:
    """A curator closes their own tasks, and takes an unassigned task of their branch."""
    if not user.has_role(Role.CURATOR):
        return False
    if task.assignee_id is not None:
        return task.assignee_id == user.pk
    return covers_branch(user, task.branch_id)


def can_assign_task(user, task: Task, assignee=None) -> bool:
    """A curator takes an unassigned task of a branch they work for, and hands a task of
    theirs or of their branch to a colleague who works for the task's branch."""
    if not user.has_role(Role.CURATOR):
        return False
    if task.assignee_id != user.pk and not covers_branch(user, task.branch_id):
        return False
    if assignee is None or assignee.pk == user.pk:
        return True
    return (
        assignee.is_active
        and assignee.has_role(Role.CURATOR)
        and covers_branch(assignee, task.branch_id)
    )


def curators_of(branch_ids: frozenset[int] | None):
    """Active curators who work for any of ``branch_ids`` (every branch when None): the
    colleagues a task can be handed to."""
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.CURATOR)
        .select_related("profile")
        .order_by("last_name", "first_name", "pk")
        .distinct()
    )
    if branch_ids is not None:
        users = users.filter(
            Q(profile__all_branches=True) | Q(profile__branch_id__in=sorted(branch_ids))
        )
    return users
