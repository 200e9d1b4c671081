"""Curator's worklist and the administrators' routing queue."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic_crm.audit.services import audit_list_read
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role
from journeys import access, selectors
from journeys.errors import JourneyError
from journeys.models import Branch
from journeys.services.worklist import task_close
from patients.access import scope_of

# Lists show what a person reads at a time; "Show more" adds as many again, up to a cap.
PAGE_SIZE = 50
MAX_SHOWN = 1000


def _shown(request: HttpRequest) -> int:
    """How many rows to show: ``?shown=``, rounded to whole pages, within the cap."""
    wanted = request.GET.get("shown", "")
    pages = -(-int(wanted) // PAGE_SIZE) if wanted.isdigit() else 1
    return min(max(pages, 1) * PAGE_SIZE, MAX_SHOWN)


def _more_url(request: HttpRequest, shown: int) -> str:
    params = request.GET.copy()
    params["shown"] = shown + PAGE_SIZE
    return f"?{params.urlencode()}"


def _scope_branches(request: HttpRequest) -> frozenset[int] | None:
    """The branches the user works for, None for every branch."""
    scope = scope_of(request.user)
    return None if scope.all_branches else scope.branch_ids


@role_required(Role.CURATOR, Role.MANAGER)
def worklist_view(request: HttpRequest) -> HttpResponse:
    shown = _shown(request)
    tasks = list(
        selectors.curator_worklist(
            assignee=request.user,
            unassigned_branch_ids=_scope_branches(request),
            limit=shown + 1,
        )
    )
    has_more = len(tasks) > shown
    audit_list_read(
        request=request, page="worklist", patient_ids=[t.patient_id for t in tasks[:shown]]
    )
    return render(
        request,
        "journeys/worklist.html",
        {
            "tasks": tasks[:shown],
            "more_url": _more_url(request, shown) if has_more and shown < MAX_SHOWN else "",
            "now": timezone.now(),
            "can_close": request.user.has_role(Role.CURATOR),
        },
    )


@role_required(Role.CURATOR)
@require_POST
def task_close_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = access.task_or_404(request.user, task_id)
    if not access.can_close_task(request.user, task):
        raise PermissionDenied(
            _("This task is assigned to a colleague, or belongs to another branch.")
        )
    try:
        task_close(actor=request.user, task=task, outcome=request.POST.get("outcome", ""))
    except JourneyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Task closed."))
    return redirect("journeys:worklist")


def slot_search_url(item: selectors.RoutingItem) -> str:
    """The one-click path from a routing item to free slots for it."""
    params = {"patient": item.patient.pk}
    if item.specialty_id:
        params["specialty"] = item.specialty_id
    if item.stage_id:
        params["stage"] = item.stage_id
    if item.handoff_id:
        params["handoff"] = item.handoff_id
    try:
        base = reverse("journeys:slot_search")
    except NoReverseMatch:  # scheduling pages not installed
        base = reverse("journeys:timeline", args=[item.patient.pk])
    return f"{base}?{urlencode(params)}"


def _routing_branch(request: HttpRequest, branches: list[Branch]) -> int | None:
    """The branch whose queue to show: ``?branch=`` if it is one of the user's, their own
    branch by default; None (every branch) only for those who work for every branch.
    Another branch's id answers 404."""
    wanted = request.GET.get("branch")
    all_branches = _scope_branches(request) is None
    if wanted:
        for branch in branches:
            if str(branch.pk) == wanted:
                return branch.pk
        raise Http404
    if wanted == "" and all_branches:
        return None
    home = getattr(getattr(request.user, "profile", None), "branch_id", None)
    if any(b.pk == home for b in branches):
        return home
    if all_branches:
        return None
    return branches[0].pk if branches else NO_BRANCH


# Stands for "no branch at all": a user without one sees an empty queue.
NO_BRANCH = -1


@role_required(Role.ADMINISTRATOR, Role.CURATOR, Role.MANAGER)
def routing_queue_view(request: HttpRequest) -> HttpResponse:
    branches = list(access.branches_of(request.user))
    branch_id = _routing_branch(request, branches)
    shown = _shown(request)
    items = (
        []
        if branch_id == NO_BRANCH
        else selectors.routing_queue(branch_id=branch_id, limit=shown + 1)
    )
    has_more = len(items) > shown
    rows = [{"item": item, "url": slot_search_url(item)} for item in items[:shown]]
    audit_list_read(
        request=request, page="routing queue", patient_ids=[r["item"].patient.pk for r in rows]
    )
    return render(
        request,
        "journeys/routing_queue.html",
        {
            "rows": rows,
            "branches": branches,
            "branch_id": branch_id,
            "all_branches": _scope_branches(request) is None,
            "more_url": _more_url(request, shown) if has_more and shown < MAX_SHOWN else "",
        },
    )
