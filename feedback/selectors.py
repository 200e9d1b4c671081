"""Reads of the feedback app that pages share."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import get_language

from .models import ReasonCorrection, ReasonTag


@dataclass(frozen=True)
class ReasonScore:
    """How the tagger did on one reason, against the staff's final reasons."""

    key: str
    name: str
    corrected: int  # corrected responses where staff added or removed this reason
    staff: int  # … where staff's final reasons name it
    tagger: int  # … where the tagger named it
    both: int  # … where both did
    precision: float | None  # both / tagger; None when the tagger never named it
    recall: float | None  # both / staff; None when staff never named it

    @property
    def precision_percent(self) -> int | None:
        return _percent(self.precision)

    @property
    def recall_percent(self) -> int | None:
        return _percent(self.recall)


@dataclass(frozen=True)
class ReasonAgreement:
    responses: int  # responses with at least one correction (and the tagger's answer)
    agreed: int  # … where the tagger's reasons are exactly the staff's final ones
    share: float | None  # agreed / responses
    reasons: list[ReasonScore]

    @property
    def share_percent(self) -> int | None:
        return _percent(self.share)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _percent(ratio: float | None) -> int | None:
    return None if ratio is None else round(100 * ratio)


def reason_agreement() -> ReasonAgreement:
    """The tagger's answers against the staff's, over the responses staff corrected (or
    confirmed) at least once: their latest correction is the staff's answer. Responses
    answered before the tagger's answer was kept (``tagged_reasons`` None) are left
    out. Two queries, however many responses."""
    latest = (
        ReasonCorrection.objects.filter(response__tagged_reasons__isnull=False)
        .order_by("response_id", "-corrected_at", "-id")
        .distinct("response_id")
        .values_list("reasons_after", "response__tagged_reasons")
    )
    pairs = [(set(after or ()), set(tagged or ())) for after, tagged in latest]
    tags = list(ReasonTag.objects.order_by("pk").only("key", "name", "name_en", "is_active"))
    named = set().union(*(after | tagged for after, tagged in pairs))
    language = get_language() or "ru"
    known = {tag.key for tag in tags}
    rows = [(tag.key, tag.label(language)) for tag in tags if tag.is_active or tag.key in named]
    rows += [(key, key) for key in sorted(named - known)]  # a tag deleted since
    reasons = []
    for key, name in rows:
        staff = sum(key in after for after, _tagged in pairs)
        tagger = sum(key in tagged for _after, tagged in pairs)
        both = sum(key in after and key in tagged for after, tagged in pairs)
        reasons.append(
            ReasonScore(
                key=key,
                name=name,
                corrected=staff + tagger - 2 * both,
                staff=staff,
                tagger=tagger,
                both=both,
                precision=_ratio(both, tagger),
                recall=_ratio(both, staff),
            )
        )
    agreed = sum(after == tagged for after, tagged in pairs)
    return ReasonAgreement(
        responses=len(pairs), agreed=agreed, share=_ratio(agreed, len(pairs)), reasons=reasons
    )
