"""Managers record what the clinic changed after feedback (“you said, we did”) and tell
the patients whose complaints it answers: the action asks first, showing how many
patients each improvement would reach (feedback.improvements)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy, pgettext_lazy

from clinic_crm.admin_names import admin_names_register

from .improvements import ImprovementError, improvement_announce, improvement_patients_waiting
from .models_improvements import Improvement


@admin.register(Improvement)
class ImprovementAdmin(admin.ModelAdmin):
    list_display = ["title", "changed_on", "branch", "is_public", "announced_at"]
    list_filter = ["is_public", "branch"]
    search_fields = ["title", "title_en"]
    filter_horizontal = ["reasons"]
    fields = [
        "title",
        "title_en",
        "description",
        "description_en",
        "changed_on",
        "reasons",
        "branch",
        "is_public",
        "created_by",
        "created_at",
        "announced_at",
    ]
    readonly_fields = ["created_by", "created_at", "announced_at"]
    list_select_related = ["branch"]
    actions = ["announce"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_announce_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("feedback.change_improvement")

    @admin.action(description=gettext_lazy("Tell the patients"), permissions=["announce"])
    def announce(
        self, request: HttpRequest, queryset: QuerySet[Improvement]
    ) -> HttpResponse | None:
        if request.POST.get("confirmed") != "yes":
            return self._announce_confirmation(request, queryset)
        for improvement in queryset:
            try:
                outcome = improvement_announce(actor=request.user, improvement=improvement)
            except ImprovementError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                continue
            if outcome.waiting == 0:
                text = _("“%(title)s”: no patient is left to tell.")
            elif outcome.queued:
                text = ngettext(
                    "“%(title)s”: %(count)s patient will be told; the messages are being planned.",
                    "“%(title)s”: %(count)s patients will be told; the messages are being planned.",
                    outcome.waiting,
                )
            else:
                text = ngettext(
                    "“%(title)s”: a message to %(count)s patient is planned.",
                    "“%(title)s”: messages to %(count)s patients are planned.",
                    outcome.waiting,
                )
            self.message_user(
                request, text % {"title": improvement.title, "count": outcome.waiting}
            )
        return None

    def _announce_confirmation(
        self, request: HttpRequest, queryset: QuerySet[Improvement]
    ) -> TemplateResponse:
        rows = [
            {"improvement": improvement, "waiting": improvement_patients_waiting(improvement)}
            for improvement in queryset.prefetch_related("reasons")
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Tell the patients?"),
            "opts": self.model._meta,
            "rows": rows,
            "total": sum(row["waiting"] for row in rows),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/feedback/improvement/announce_confirmation.html", context
        )


admin_names_register(
    Improvement,
    accusative=pgettext_lazy("accusative", "improvement"),
    count=ngettext_lazy("%(count)s improvement", "%(count)s improvements", "count"),
)
