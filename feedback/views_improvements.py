"""The clinic's public “You said, we did” page: what it changed after patients' feedback,
for the whole clinic or one branch. No account and no patient data: only what managers
wrote and made public, and the reasons' names."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.views.decorators.http import require_GET

from clinic_crm.catalogue.models import Branch
from clinic_crm.staff.access import public

from .improvements import public_improvements

LANGUAGES = ("ru", "en")
PER_PAGE = 20
TEMPLATE = "feedback/improvements_public.html"


def _language(request: HttpRequest) -> str:
    asked = request.GET.get("lang")
    if asked in LANGUAGES:
        return asked
    current = translation.get_language()
    return current if current in LANGUAGES else "ru"


@public
@require_GET
def improvements_view(request: HttpRequest, branch_id: int | None = None) -> HttpResponse:
    language = _language(request)
    branch = get_object_or_404(Branch, pk=branch_id) if branch_id is not None else None
    page = Paginator(public_improvements(branch_id=branch_id), PER_PAGE).get_page(
        request.GET.get("page")
    )
    items = [
        {
            "id": improvement.pk,
            "title": improvement.title_in(language),
            "description": improvement.description_in(language),
            # An English page shows the Russian text where there is no English one.
            "title_lang": "en" if language == "en" and improvement.title_en else "ru",
            "description_lang": "en" if language == "en" and improvement.description_en else "ru",
            "changed_on": improvement.changed_on,
            "branch": improvement.branch.name if improvement.branch else "",
            "reasons": [reason.label(language) for reason in improvement.reasons.all()],
        }
        for improvement in page
    ]
    context: dict[str, Any] = {
        "clinic_name": settings.CLINIC_NAME,
        "lang": language,
        "other_lang": "en" if language == "ru" else "ru",
        "branch": branch,
        "branches": list(Branch.objects.order_by("name").only("pk", "name")),
        "items": items,
        "page": page,
    }
    with translation.override(language):
        response = render(request, TEMPLATE, context)
    response["Content-Language"] = language
    return response
