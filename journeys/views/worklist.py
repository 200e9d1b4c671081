"""Curator's worklist and the administrators' routing queue."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role
from journeys import selectors
from journeys.errors import JourneyError
from journeys.models import Branch, Task
from journeys.services.worklist import task_close

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


@role_required(Role.CURATOR, Role.MANAGER)
def worklist_view(request: HttpRequest) -> HttpResponse:
    shown = _shown(request)
    tasks = list(selectors.curator_worklist(assignee=request.user, limit=shown + 1))
    has_more = len(tasks) > shown
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
    task = get_object_or_404(Task, pk=task_id)
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


@role_required(Role.ADMINISTRATOR, Role.CURATOR, Role.MANAGER)
def routing_queue_view(request: HttpRequest) -> HttpResponse:
    branches = list(Branch.objects.all())
    branch_id = request.GET.get("branch")
    if branch_id is None:
        profile = getattr(request.user, "profile", None)
        branch_id = getattr(profile, "branch_id", None)
    branch_id = int(branch_id) if str(branch_id or "").isdigit() else None
    shown = _shown(request)
    items = selectors.routing_queue(branch_id=branch_id, limit=shown + 1)
    has_more = len(items) > shown
    rows = [{"item": item, "url": slot_search_url(item)} for item in items[:shown]]
    return render(
        request,
        "journeys/routing_queue.html",
        {
            "rows": rows,
            "branches": branches,
            "branch_id": branch_id,
            "more_url": _more_url(request, shown) if has_more and shown < MAX_SHOWN else "",
        },
    )
