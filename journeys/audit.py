"""The journeys' side of the audit log (registered from JourneysConfig.ready):

- every change of a task's state, assignee or contact attempts and of a handoff's state
  is an audit event, whichever service (or the admin) writes it — the models' managers
  are ``AuditedQuerySet``s, so the conditional ``update()``s are audited too. A visit's
  steps are audited where they all pass (``services.visit_status._transition``);
- the log names visits, plans, stages, handoffs and tasks by the patient and what a
  person recognises: "Иванов И. И. — visit 12.03.2026 10:00, Consultation".
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.audit.describers import int_ids, register_describer
from clinic_crm.audit.tracking import track_changes
from patients.audit import NAME_PARTS, short_name

from .models import Handoff, Stage, Task, TreatmentPlan, Visit


def _patient(patient) -> str:
    return short_name(*(getattr(patient, part) for part in NAME_PARTS))


def describe_visits(ids: list[str]) -> dict[str, str]:
    visits = Visit.objects.filter(pk__in=int_ids(ids)).select_related(
        "patient", "service", "branch"
    )
    return {
        str(visit.pk): _("%(patient)s — visit %(when)s, %(service)s")
        % {
            "patient": _patient(visit.patient),
            "when": timezone.localtime(visit.starts_at, visit.branch.zone).strftime(
                "%d.%m.%Y %H:%M"
            ),
            "service": visit.service.name,
        }
        for visit in visits
    }


def describe_plans(ids: list[str]) -> dict[str, str]:
    plans = TreatmentPlan.objects.filter(pk__in=int_ids(ids)).select_related("patient")
    return {
        str(plan.pk): _("%(patient)s — plan “%(title)s”")
        % {"patient": _patient(plan.patient), "title": plan.title}
        for plan in plans
    }


def describe_stages(ids: list[str]) -> dict[str, str]:
    stages = Stage.objects.filter(pk__in=int_ids(ids)).select_related("option__plan__patient")
    return {
        str(stage.pk): _("%(patient)s — stage “%(stage)s” of the plan “%(plan)s”")
        % {
            "patient": _patient(stage.option.plan.patient),
            "stage": stage.title,
            "plan": stage.option.plan.title,
        }
        for stage in stages
    }


def describe_handoffs(ids: list[str]) -> dict[str, str]:
    handoffs = Handoff.objects.filter(pk__in=int_ids(ids)).select_related("patient", "to_specialty")
    return {
        str(handoff.pk): _("%(patient)s — handoff to %(specialty)s, book by %(due)s")
        % {
            "patient": _patient(handoff.patient),
            "specialty": handoff.to_specialty.name,
            "due": handoff.due_date.strftime("%d.%m.%Y"),
        }
        for handoff in handoffs
    }


def describe_tasks(ids: list[str]) -> dict[str, str]:
    tasks = Task.objects.filter(pk__in=int_ids(ids)).select_related("patient")
    return {
        str(task.pk): _("%(patient)s — task “%(kind)s”, due %(due)s")
        % {
            "patient": _patient(task.patient),
            "kind": task.get_kind_display(),
            "due": timezone.localtime(task.due_at).strftime("%d.%m.%Y %H:%M"),
        }
        for task in tasks
    }


def register() -> None:
    track_changes(Task, fields=("state", "assignee", "attempts"))
    track_changes(Handoff, fields=("state",))
    for model, describe in (
        (Visit, describe_visits),
        (TreatmentPlan, describe_plans),
        (Stage, describe_stages),
        (Handoff, describe_handoffs),
        (Task, describe_tasks),
    ):
        register_describer(model._meta.label, describe)
