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
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from clinic_crm.audit.services import audit_list_read
from clinic_crm.catalogue.models import Branch
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role
from journeys import access, selectors, selectors_worklist
from journeys.errors import JourneyError
from journeys.forms import WorklistFilterForm
from journeys.models import Task
from journeys.services.worklist import task_assign, task_attempt_record, task_close
from patients.access import scope_of

# Lists show what a person reads at a time; "Show more" adds as many again, up to a cap.
PAGE_SIZE = 50
MAX_SHOWN = 1000
# Tasks one bulk action changes at most (two pages' worth).
BULK_LIMIT = 2 * PAGE_SIZE


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
    """The tasks a curator works from: filters, sorting, the phone to call, the score's
    reasons, and taking, handing over and closing tasks (one or many at once)."""
    branch_ids = _scope_branches(request)
    branches = list(access.branches_of(request.user))
    colleagues = [u for u in access.curators_of(branch_ids) if u.pk != request.user.pk]
    is_curator = request.user.has_role(Role.CURATOR)
    default_who = "mine_and_unassigned" if is_curator else "all"
    data = request.GET.copy()
    data.setdefault("who", default_who)
    form = WorklistFilterForm(
        data, branches=branches, colleagues=colleagues, default_who=default_who
    )
    shown = _shown(request)
    tasks = list(
        selectors_worklist.worklist(
            user=request.user, branch_ids=branch_ids, filters=form.filters(), limit=shown + 1
        )
    )
    has_more = len(tasks) > shown
    tasks = tasks[:shown]
    audit_list_read(request=request, page="worklist", patient_ids=[t.patient_id for t in tasks])
    rows = [
        {
            "task": task,
            "reasons": "; ".join(selectors_worklist.score_reasons(task)),
            "can_close": is_curator and access.can_close_task(request.user, task),
            "can_take": is_curator
            and task.assignee_id is None
            and access.can_assign_task(request.user, task),
            "can_assign": is_curator and access.can_assign_task(request.user, task),
        }
        for task in tasks
    ]
    context = {
        "rows": rows,
        "form": form,
        "colleagues": colleagues,
        "more_url": _more_url(request, shown) if has_more and shown < MAX_SHOWN else "",
        "now": timezone.now(),
        "results": Task.Result.choices,
        "is_curator": is_curator,
        "back": request.get_full_path(),
    }
    template = "journeys/worklist_rows.html" if request.htmx else "journeys/worklist.html"
    return render(request, template, context)


def _back_to_worklist(request: HttpRequest) -> HttpResponse:
    """Back to the list as it was filtered (only a worklist address is followed)."""
    back = request.POST.get("back", "")
    worklist = reverse("journeys:worklist")
    return redirect(back if back.startswith(worklist + "?") else worklist)


def _selected_tasks(request: HttpRequest, task_id: int | None):
    ids = [task_id] if task_id is not None else request.POST.getlist("task")
    ids = [int(i) for i in ids if str(i).isdigit()][:BULK_LIMIT]
    if not ids:
        messages.error(request, _("Choose at least one task."))
    return [access.task_or_404(request.user, i) for i in ids]


@role_required(Role.CURATOR)
@require_POST
def task_close_view(request: HttpRequest, task_id: int | None = None) -> HttpResponse:
    tasks = _selected_tasks(request, task_id)
    closed = 0
    for task in tasks:
        if not access.can_close_task(request.user, task):
            raise PermissionDenied(
                _("This task is assigned to a colleague, or belongs to another branch.")
            )
    for task in tasks:
        try:
            task_close(
                actor=request.user,
                task=task,
                outcome=request.POST.get("outcome", ""),
                result=request.POST.get("result", ""),
            )
        except JourneyError as exc:
            messages.error(request, f"{task.patient.full_name}: {exc}")
        else:
            closed += 1
    if closed:
        messages.success(
            request,
            ngettext("%(n)s task closed.", "%(n)s tasks closed.", closed) % {"n": closed},
        )
    return _back_to_worklist(request)


@role_required(Role.CURATOR)
@require_POST
def task_assign_view(request: HttpRequest, task_id: int | None = None) -> HttpResponse:
    """Take (``assignee`` empty or "me") or hand over (a colleague's id) one task or the
    chosen ones."""
    tasks = _selected_tasks(request, task_id)
    wanted = "me" if request.POST.get("take") else request.POST.get("assignee", "me")
    if wanted in ("", "me"):
        assignee = request.user
    else:
        # any active curator; whether they work for each task's branch is checked below
        assignee = access.curators_of(None).filter(pk=wanted).first() if wanted.isdigit() else None
        if assignee is None:
            raise Http404
    for task in tasks:
        if not access.can_assign_task(request.user, task, assignee):
            raise PermissionDenied(
                _("This task belongs to another branch, or the colleague doesn't work there.")
            )
    for task in tasks:
        try:
            task_assign(actor=request.user, task=task, assignee=assignee)
        except JourneyError as exc:
            messages.error(request, f"{task.patient.full_name}: {exc}")
    if tasks:
        messages.success(
            request,
            ngettext("%(n)s task is now %(who)s's.", "%(n)s tasks are now %(who)s's.", len(tasks))
            % {"n": len(tasks), "who": assignee},
        )
    return _back_to_worklist(request)


@role_required(Role.CURATOR)
@require_POST
def task_attempt_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """A call that reached nobody: noted on the task, which comes back in two hours."""
    task = access.task_or_404(request.user, task_id)
    if not access.can_close_task(request.user, task):
        raise PermissionDenied(
            _("This task is assigned to a colleague, or belongs to another branch.")
        )
    try:
        task_attempt_record(actor=request.user, task=task, note=request.POST.get("note", ""))
    except JourneyError as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, _("Attempt noted; the task comes back in two hours."))
    return _back_to_worklist(request)


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
