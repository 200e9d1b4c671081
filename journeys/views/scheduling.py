"""What the administrators' calendar, the slot finder and the visit panel share: who may
read and who may write, the branch and day a page shows, and the HTMX response helpers.

The pages themselves live beside this module: ``calendar`` (the day and week calendars),
``availability`` (the slot finder) and ``visits`` (the visit panel with its book, move,
cancel and status steps). Every write answers with the visit panel (or the form with its
error) for the modal, and an ``HX-Trigger: visits-changed`` header that makes the
calendar grid and the slot list on the page fetch themselves again; the page itself
never reloads.
"""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from clinic_crm.catalogue.models import Branch
from clinic_crm.forms import sane_date
from clinic_crm.staff.roles import Role
from journeys import access
from journeys import selectors_scheduling as selectors
from patients.access import patients_visible

READ_ROLES = (Role.ADMINISTRATOR, Role.DOCTOR, Role.MANAGER)
WRITE_ROLES = (Role.ADMINISTRATOR,)
VISITS_CHANGED = "visits-changed"
MAX_ID = 2**63 - 1  # ids in query strings beyond a bigint are nobody


def can_write(user, branch_id: int | None = None) -> bool:
    """Whether the user books and changes visits (at ``branch_id`` when given)."""
    if branch_id is None:
        return user.has_role(*WRITE_ROLES)
    return access.can_schedule_at(user, branch_id)


def pick_branch(request: HttpRequest) -> tuple[Branch, list[Branch]]:
    """The branch asked for, among those the user works with (another one is 404), else
    the user's own."""
    branches = list(access.branches_of(request.user))
    if not branches:
        raise Http404(_("There is no branch whose calendar you can open."))
    wanted = request.GET.get("branch", "")
    for branch in branches:
        if str(branch.pk) == wanted:
            return branch, branches
    if wanted:
        raise Http404
    home = getattr(getattr(request.user, "profile", None), "branch_id", None)
    return next((b for b in branches if b.pk == home), branches[0]), branches


def safe_date(value) -> date | None:
    """A day from the query string; nonsense and days outside the sane range are None
    (the page falls back to today)."""
    return sane_date(value)


def pick_day(request: HttpRequest, branch: Branch) -> date:
    return safe_date(request.GET.get("date")) or selectors.local_now(branch).date()


def bookable_patients(request: HttpRequest):
    """The patients the user may book a visit for: those they may see."""
    return patients_visible(request.user)


def partial(request: HttpRequest, template: str, context: dict, *, changed: bool = False):
    """An HTMX fragment; with ``changed``, one that tells the page visits have changed."""
    response = render(request, template, context)
    if changed:
        response["HX-Trigger"] = VISITS_CHANGED
    return response


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """A page that answers an HTMX request with a fragment: caches must tell them apart."""
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response
