"""Reads for visit checklists: what a visit's checklists look like now, and how often
each item is ticked on completed visits (the managers' completion rates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    Func,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from journeys.models import ChecklistCompletion, ChecklistItem, ChecklistTemplate, Visit

_links = ChecklistTemplate.services.through.objects


def _applies(template_id: F, service_id: F | int) -> Q:
    """The template applies to the service: it names no services, or names this one.
    Both arguments are expressions (``OuterRef``/``F``) of the query that uses it."""
    return ~Exists(_links.filter(checklisttemplate_id=template_id)) | Exists(
        _links.filter(checklisttemplate_id=template_id, service_id=service_id)
    )


def _ordered_items() -> Prefetch[str, QuerySet[ChecklistItem]]:
    return Prefetch("items", queryset=ChecklistItem.objects.order_by("position", "id"))


# --- one visit ----------------------------------------------------------------------------


@dataclass
class ChecklistLine:
    item: ChecklistItem
    completion: ChecklistCompletion | None

    @property
    def done(self) -> bool:
        return self.completion is not None


@dataclass
class VisitChecklist:
    template: ChecklistTemplate
    lines: list[ChecklistLine] = field(default_factory=list)

    @property
    def done_count(self) -> int:
        return sum(line.done for line in self.lines)

    @property
    def complete(self) -> bool:
        return bool(self.lines) and self.done_count == len(self.lines)


def visit_checklists(*, visit: Visit, audience: str | None = None) -> list[VisitChecklist]:
    """The active checklists that apply to ``visit``'s service (optionally only those
    of one ``audience``), administrators' first, each item with its tick if any.
    Three queries: templates, their items, the visit's ticks (with who ticked)."""
    applicable = ChecklistTemplate.objects.filter(
        _applies(OuterRef("pk"), visit.service_id), is_active=True
    ).prefetch_related(_ordered_items())
    if audience:
        applicable = applicable.filter(audience=audience)
    templates = list(applicable)
    if not templates:
        return []
    ticks = {
        c.item_id: c
        for c in ChecklistCompletion.objects.filter(
            visit_id=visit.pk, item__template__in=templates
        ).select_related("checked_by")
    }
    return [
        VisitChecklist(
            template=template,
            lines=[
                ChecklistLine(item=item, completion=ticks.get(item.pk))
                for item in template.items.all()
            ],
        )
        for template in templates
    ]


# --- completion rates -------------------------------------------------------------------


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class ItemRate:
    item: ChecklistItem
    visits: int  # completed visits the item's checklist applied to
    ticked: int  # of those, visits where the item was ticked

    @property
    def rate(self) -> float | None:
        return _percent(self.ticked, self.visits)


@dataclass
class TemplateRate:
    template: ChecklistTemplate
    visits: int  # completed visits the checklist applied to
    complete_visits: int  # of those, visits with every item ticked
    items: list[ItemRate]

    @property
    def rate(self) -> float | None:
        """Share of the visits with the whole checklist done."""
        return _percent(self.complete_visits, self.visits)


def _count(queryset: QuerySet[Model]) -> Coalesce:
    """``(SELECT COUNT(*) FROM …)`` of a correlated queryset, as an expression."""
    counted = queryset.order_by().annotate(n=Func(Value(1), function="COUNT")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def completed_visits_in(
    *, date_from: date, date_to: date, branch_id: int | None = None
) -> QuerySet[Visit]:
    """Completed visits whose day, in their branch's time zone, lies in
    ``date_from``–``date_to`` (both included)."""
    zone = timezone.get_current_timezone()
    # A coarse bound on the indexed start time (two days of slack cover any pair of
    # time zones), then the exact test on the branch's local date.
    visits = Visit.objects.filter(
        status=Visit.Status.COMPLETED,
        starts_at__gte=datetime.combine(date_from - timedelta(days=2), time.min, tzinfo=zone),
        starts_at__lt=datetime.combine(date_to + timedelta(days=3), time.min, tzinfo=zone),
    )
    if branch_id is not None:
        visits = visits.filter(branch_id=branch_id)
    local_day = Cast(
        Func(
            F("branch__time_zone"),
            F("starts_at"),
            function="timezone",
            output_field=DateTimeField(),
        ),
        DateField(),
    )
    return visits.alias(local_day=local_day).filter(
        local_day__gte=date_from, local_day__lte=date_to
    )


def checklist_completion_rates(
    *, date_from: date, date_to: date, branch_id: int | None = None
) -> list[TemplateRate]:
    """For each active checklist: how many completed visits in the period (at the
    branch, when given) it applied to, how many of those had every item ticked, and
    per item how many had that item ticked.

    Counted in PostgreSQL; three queries whatever the number of visits: templates with
    their visit counts, their items, the tick counts per item.
    """
    visits = completed_visits_in(date_from=date_from, date_to=date_to, branch_id=branch_id)
    # The template row, seen from a subquery two levels down (template → visit → …).
    template = OuterRef(OuterRef("pk"))
    applied = visits.filter(_applies(template, OuterRef("service_id")))
    # A visit is complete when no item of the template lacks a tick on it.
    unticked_items = ChecklistItem.objects.filter(template_id=template).filter(
        ~Exists(
            ChecklistCompletion.objects.filter(
                item_id=OuterRef("pk"), visit_id=OuterRef(OuterRef("pk"))
            )
        )
    )
    templates = list(
        ChecklistTemplate.objects.filter(is_active=True)
        .annotate(
            visit_count=_count(applied),
            complete_count=_count(applied.filter(~Exists(unticked_items))),
        )
        .prefetch_related(_ordered_items())
    )
    ticked = dict(
        ChecklistCompletion.objects.filter(
            _applies(OuterRef("item__template_id"), OuterRef("visit__service_id")),
            visit__in=visits,
            item__template__in=[t.pk for t in templates],
        )
        .values("item_id")
        .annotate(n=Count("id"))
        .values_list("item_id", "n")
        .order_by()
    )
    rates = []
    for t in templates:
        items = list(t.items.all())
        rates.append(
            TemplateRate(
                template=t,
                visits=t.visit_count,
                complete_visits=t.complete_count if items else 0,
                items=[
                    ItemRate(item=item, visits=t.visit_count, ticked=ticked.get(item.pk, 0))
                    for item in items
                ],
            )
        )
    return rates
