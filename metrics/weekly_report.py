"""The weekly pattern report: which complaint reasons recur, where, and what changed.

What it counts (one place, so the page, the email and the tests agree):

- **The week** is Monday to Sunday by the clinic day of the visit (``Response.day``, what
  every metric groups by); **the baseline** is the four weeks before it (28 days).
- **Every answered survey** of the period counts, whatever its score: a promoter who
  mentions the wait says something too. A reason's *count* is the answers that named it
  (an answer names a reason once); its *share* = count / all answers of the group in
  the period, whether they named a reason or not, so that weeks with more or fewer
  answers compare. The interval is Wilson's (``formulas.proportion``); ``negative`` says
  how many of the count were negative answers.
- **Groups**: the whole clinic, each branch, each doctor, each stage kind. Branches and
  doctors with fewer answers this week than the clinic's minimum sample
  (``MetricsSettings.min_sample``) are left out, as everywhere in the metrics, and
  counted in ``hidden``. Answers without a doctor count in every group but the doctors'.
- A reason is **listed** in a group when at least ``RECURRING`` answers of the week named
  it there, or when its change is flagged.
- **A change** is flagged ``up`` or ``down`` only when unlikely to be noise
  (``formulas.share_change``): the two-proportion z-test of this week's share against
  the baseline share gives p < 0.05 once corrected for the week's other tests, and at
  least 5 answers stand on it (observed, or expected at the baseline share). Every
  reason of every group shown is a test — some 600 a week for 60 doctors — so the
  p-values are corrected together (``formulas.benjamini_hochberg``, false discovery
  rate 5 %): a plain p < 0.05 would flag one unchanged reason in twenty. Rows keep the
  test's own p (``p_value``) and the corrected one (``q_value``), which the page shows.
- **Examples**: for each flagged reason of a group, up to ``EXAMPLES`` of the week's
  most recent comments naming it, whitespace collapsed and cut to ``EXAMPLE_CHARS``
  characters, stored as plain text (templates escape them). No patient is named: the
  report keeps no patient, response or visit id.

Cost: a fixed number of queries per build whatever the data size — the answers per
group and the reasons per group (one ``GROUPING SETS`` aggregate each, over the five
weeks' answers only), the names of the reasons, branches and doctors found, the
settings row, the example comments (one window query, only when something is
flagged), the upsert of the week's row and the read of its email mark: nine
statements at most (``tests/metrics/test_weekly_report.py`` and
``bench/weekly_report.py`` count them).

Answers arriving after a build (a survey answered days after the visit) count when the
week is built again: a rebuild replaces the week's row.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from clinic_crm.catalogue.models import Branch
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from feedback.models import ReasonTag, StageKind

from . import formulas
from .models import MetricsSettings, WeeklyReasonReport

logger = logging.getLogger(__name__)

DATA_VERSION = 1
BASELINE_WEEKS = 4
RECURRING = 2  # answers naming a reason in a group for it to be listed there
EXAMPLES = 3  # example comments per flagged reason and group
EXAMPLE_CHARS = 300

OVERALL, BRANCH, DOCTOR, STAGE_KIND = "overall", "branch", "doctor", "stage_kind"
DIMENSIONS = (OVERALL, BRANCH, DOCTOR, STAGE_KIND)
# GROUPING(branch_id, doctor_id, stage_kind) sets a bit for each column a row is not
# grouped by (branch_id the highest): which grouping set a row belongs to.
_GROUPING = {0b111: OVERALL, 0b011: BRANCH, 0b101: DOCTOR, 0b110: STAGE_KIND}

_ANSWERS = """
SELECT GROUPING(r.branch_id, r.doctor_id, r.stage_kind), r.branch_id, r.doctor_id,
       r.stage_kind,
       count(*) FILTER (WHERE r.day >= %(week)s), count(*) FILTER (WHERE r.day < %(week)s)
FROM feedback_response r
WHERE r.day >= %(baseline)s AND r.day < %(end)s
GROUP BY GROUPING SETS ((), (r.branch_id), (r.doctor_id), (r.stage_kind))
"""

_NAMED = """
SELECT GROUPING(r.branch_id, r.doctor_id, r.stage_kind), r.branch_id, r.doctor_id,
       r.stage_kind, x.reasontag_id,
       count(*) FILTER (WHERE r.day >= %(week)s), count(*) FILTER (WHERE r.day < %(week)s),
       count(*) FILTER (WHERE r.day >= %(week)s AND r.negative)
FROM feedback_response r JOIN feedback_response_reasons x ON x.response_id = r.id
WHERE r.day >= %(baseline)s AND r.day < %(end)s
GROUP BY GROUPING SETS ((x.reasontag_id), (x.reasontag_id, r.branch_id),
                        (x.reasontag_id, r.doctor_id), (x.reasontag_id, r.stage_kind))
"""

_ORDER = "ORDER BY r.submitted_at DESC, r.id DESC"
_EXAMPLES = f"""
SELECT reason_id, branch_id, doctor_id, stage_kind, comment, n_all, n_branch, n_doctor, n_stage
FROM (
    SELECT x.reasontag_id AS reason_id, r.branch_id, r.doctor_id, r.stage_kind,
           left(r.comment, %(chars)s) AS comment,
           row_number() OVER (PARTITION BY x.reasontag_id {_ORDER}) AS n_all,
           row_number() OVER (PARTITION BY x.reasontag_id, r.branch_id {_ORDER}) AS n_branch,
           row_number() OVER (PARTITION BY x.reasontag_id, r.doctor_id {_ORDER}) AS n_doctor,
           row_number() OVER (PARTITION BY x.reasontag_id, r.stage_kind {_ORDER}) AS n_stage
    FROM feedback_response r JOIN feedback_response_reasons x ON x.response_id = r.id
    WHERE r.day >= %(week)s AND r.day < %(end)s AND r.comment <> ''
      AND x.reasontag_id = ANY(%(reasons)s)
) numbered
WHERE least(n_all, n_branch, n_doctor, n_stage) <= %(examples)s
"""  # noqa: S608 - constants only

GroupKey = tuple[str, int | str | None]


def week_start_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def last_week_start(today: date | None = None) -> date:
    """The Monday of the week before ``today``'s (the clinic's today by default): the
    week the Monday job reports."""
    return week_start_of(today or timezone.localdate()) - timedelta(days=7)


def _group_key(grouping: int, branch: int | None, doctor: int | None, stage: str) -> GroupKey:
    dimension = _GROUPING[grouping]
    key = {OVERALL: None, BRANCH: branch, DOCTOR: doctor, STAGE_KIND: stage}[dimension]
    return dimension, key


def _example(comment: str) -> str:
    return Truncator(" ".join(comment.split())).chars(EXAMPLE_CHARS)


def _compute(week_start: date) -> dict[str, Any]:
    baseline = week_start - timedelta(weeks=BASELINE_WEEKS)
    end = week_start + timedelta(days=7)
    params: dict[str, Any] = {"week": week_start, "baseline": baseline, "end": end}
    answers: dict[GroupKey, tuple[int, int]] = {}
    named: dict[GroupKey, list[tuple[int, int, int, int]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_ANSWERS, params)
        for grouping, branch, doctor, stage, n, base_n in cursor.fetchall():
            answers[_group_key(grouping, branch, doctor, stage)] = (n, base_n)
        cursor.execute(_NAMED, params)
        for grouping, branch, doctor, stage, reason, hits, base_hits, negative in cursor:
            named[_group_key(grouping, branch, doctor, stage)].append(
                (reason, hits, base_hits, negative)
            )
    min_sample = MetricsSettings.current().min_sample
    reason_ids = {reason for rows in named.values() for reason, *_counts in rows}
    reasons = {tag.pk: tag for tag in ReasonTag.objects.filter(pk__in=reason_ids)}
    names: dict[GroupKey, str] = {
        (BRANCH, pk): name
        for pk, name in Branch.objects.filter(
            pk__in=[key for (dimension, key) in answers if dimension == BRANCH]
        ).values_list("pk", "name")
    }
    names.update(
        ((DOCTOR, pk), User.name_of(*columns))
        for pk, *columns in User.objects.filter(
            pk__in=[key for (dimension, key) in answers if dimension == DOCTOR and key]
        ).values_list("pk", *User.NAME_COLUMNS)
    )

    groups: list[dict[str, Any]] = []
    hidden = {BRANCH: 0, DOCTOR: 0}
    tested: list[tuple[dict[str, Any], tuple[int, int, int, int, int, int]]] = []
    for (dimension, key), (n, base_n) in answers.items():
        if n == 0 or (dimension == DOCTOR and key is None):
            continue
        if dimension in hidden and n < min_sample:
            hidden[dimension] += 1
            continue
        group: dict[str, Any] = {
            "dimension": dimension,
            "key": key,
            "name": names.get((dimension, key), ""),
            "responses": n,
            "baseline_responses": base_n,
            "reasons": [],
        }
        groups.append(group)
        for reason, hits, base_hits, negative in named.get((dimension, key), []):
            tested.append((group, (reason, hits, n, base_hits, base_n, negative)))
    # Every reason of every group shown is one test: their p-values are corrected
    # together, so that the week's many tests flag no more than chance allows.
    tests = [
        formulas.two_proportion_z_test(hits, n, base_hits, base_n)
        for _group, (_reason, hits, n, base_hits, base_n, _negative) in tested
    ]
    corrected = iter(formulas.benjamini_hochberg([t.p_value for t in tests if t is not None]))
    for (group, (reason, hits, n, base_hits, base_n, negative)), test in zip(
        tested, tests, strict=True
    ):
        q_value = None if test is None else next(corrected)
        change, _test = formulas.share_change(hits, n, base_hits, base_n, p_value=q_value)
        if hits < RECURRING and not change:
            continue
        share = formulas.proportion(hits, n)
        tag = reasons[reason]
        group["reasons"].append(
            {
                "reason_id": reason,
                "reason": tag.key,
                "name": tag.name,
                "name_en": tag.name_en,
                "count": hits,
                "negative": negative,
                "share": share.value,
                "low": share.low,
                "high": share.high,
                "baseline_count": base_hits,
                "baseline_share": 100.0 * base_hits / base_n if base_n else None,
                "p_value": None if test is None else test.p_value,
                "q_value": q_value,
                "change": change,
                "examples": [],
            }
        )
    for group in groups:
        group["reasons"].sort(key=lambda row: (-row["count"], row["name"]))
    stage_order = {kind: position for position, kind in enumerate(StageKind.values)}
    groups.sort(
        key=lambda g: (
            DIMENSIONS.index(g["dimension"]),
            stage_order.get(g["key"], 0) if g["dimension"] == STAGE_KIND else 0,
            g["name"],
        )
    )
    _add_examples(groups, params)
    overall = answers.get((OVERALL, None), (0, 0))
    flagged = [row for group in groups for row in group["reasons"] if row["change"]]
    return {
        "version": DATA_VERSION,
        "week_start": week_start.isoformat(),
        "week_end": (end - timedelta(days=1)).isoformat(),
        "baseline_start": baseline.isoformat(),
        "baseline_end": (week_start - timedelta(days=1)).isoformat(),
        "responses": overall[0],
        "baseline_responses": overall[1],
        "min_sample": min_sample,
        "alpha": formulas.CHANGE_ALPHA,
        "min_count": formulas.CHANGE_MIN_COUNT,
        "tests": sum(1 for test in tests if test is not None),
        "flagged_up": sum(1 for row in flagged if row["change"] == "up"),
        "flagged_down": sum(1 for row in flagged if row["change"] == "down"),
        "hidden": hidden,
        "groups": groups,
    }


def _add_examples(groups: list[dict[str, Any]], params: dict[str, Any]) -> None:
    """Fills in the example comments of the flagged rows: one query over the week's
    commented answers naming a flagged reason, numbered most recent first within each
    reason × group, whatever the number of groups."""
    wanted = {
        (group["dimension"], group["key"], row["reason_id"]): row
        for group in groups
        for row in group["reasons"]
        if row["change"]
    }
    if not wanted:
        return
    reasons = sorted({reason for (_dimension, _key, reason) in wanted})
    with connection.cursor() as cursor:
        cursor.execute(
            _EXAMPLES,
            params | {"reasons": reasons, "chars": EXAMPLE_CHARS * 4, "examples": EXAMPLES},
        )
        found = cursor.fetchall()
    collected: dict[tuple[str, int | str | None, int], list[tuple[int, str]]] = defaultdict(list)
    for reason, branch, doctor, stage, comment, *numbers in found:
        keys = {OVERALL: None, BRANCH: branch, DOCTOR: doctor, STAGE_KIND: stage}
        for dimension, number in zip(DIMENSIONS, numbers, strict=True):
            wanted_key = (dimension, keys[dimension], reason)
            if number <= EXAMPLES and wanted_key in wanted:
                collected[wanted_key].append((number, comment))
    for wanted_key, items in collected.items():  # newest first, as row_number counted
        wanted[wanted_key]["examples"] = [_example(comment) for _n, comment in sorted(items)]


def weekly_report_build(week_start: date) -> WeeklyReasonReport:
    """Computes the report of the clinic week starting on Monday ``week_start`` and
    stores it, replacing the week's earlier build (its ``emailed_at`` stays: a rebuild
    never emails again). Raises ValueError for a day that is not a Monday."""
    if week_start.isoweekday() != 1:
        raise ValueError(f"{week_start} is not a Monday")
    data = _compute(week_start)
    # One INSERT … ON CONFLICT (week_start) DO UPDATE: two builds of a week at once leave
    # one row, the later one's, and neither fails.
    (report,) = WeeklyReasonReport.objects.bulk_create(
        [WeeklyReasonReport(week_start=week_start, built_at=timezone.now(), data=data)],
        update_conflicts=True,
        unique_fields=["week_start"],
        update_fields=["built_at", "data"],
    )
    report.refresh_from_db(fields=["emailed_at"])
    return report


# --- What the page and the email show --------------------------------------------------


def _group_label(group: dict[str, Any]) -> str:
    dimension = group["dimension"]
    if dimension == OVERALL:
        return _("Whole clinic")
    if dimension == STAGE_KIND:
        try:
            return str(StageKind(group["key"]).label)
        except ValueError:
            return str(group["key"])
    return str(group["name"]) or "—"


def _p_text(p_value: float | None) -> str:
    if p_value is None:
        return ""
    if p_value < 0.001:
        return "p < " + number_format(0.001, 3)
    return "p = " + number_format(p_value, 3)


def report_context(report: WeeklyReasonReport, language: str | None = None) -> dict[str, Any]:
    """The report's rows as the page and the email read them, in ``language`` (the
    active one by default): reason and group names translated, the flagged changes
    listed first, the groups by dimension. Reads nothing from the database."""
    language = (language or translation.get_language() or settings.LANGUAGE_CODE)[:2]
    data = report.data
    titles = {
        OVERALL: _("Whole clinic"),
        BRANCH: _("By branch"),
        DOCTOR: _("By doctor"),
        STAGE_KIND: _("By stage"),
    }
    sections: dict[str, list[dict[str, Any]]] = {dimension: [] for dimension in DIMENSIONS}
    changes = []
    for group in data.get("groups", []):
        label = _group_label(group)
        rows = []
        for row in group["reasons"]:
            shown = {
                **row,
                "label": row["name_en"] if language == "en" and row["name_en"] else row["name"],
                "p_text": _p_text(row.get("q_value", row["p_value"])),
            }
            rows.append(shown)
            if row["change"]:
                changes.append(
                    {
                        **shown,
                        "group": label,
                        "dimension": group["dimension"],
                        "responses": group["responses"],
                    }
                )
        sections[group["dimension"]].append({**group, "label": label, "reasons": rows})
    changes.sort(key=lambda c: (c["change"] != "up", c["p_value"] or 1.0, c["group"]))
    # A reason flagged in several groups often stands on the same answers: each comment
    # is quoted once, under the first of them (the whole clinic's comes first).
    quoted: dict[str, set[str]] = defaultdict(set)
    for change in changes:
        change["examples"] = [e for e in change["examples"] if e not in quoted[change["reason"]]]
        quoted[change["reason"]].update(change["examples"])
    week_start = date.fromisoformat(data["week_start"])
    week_end = date.fromisoformat(data["week_end"])
    return {
        "report": report,
        "data": data,
        "week_start": week_start,
        "week_end": week_end,
        "baseline_start": date.fromisoformat(data["baseline_start"]),
        "baseline_end": date.fromisoformat(data["baseline_end"]),
        "in_progress": timezone.localdate(report.built_at) <= week_end,
        "changes": changes,
        "sections": [
            {"dimension": dimension, "title": titles[dimension], "groups": sections[dimension]}
            for dimension in DIMENSIONS
            if sections[dimension]
        ],
        "hidden": data.get("hidden", {}),
    }


def _managers() -> list[str]:
    return list(
        User.objects.filter(is_active=True, groups__name=Role.MANAGER)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )


def weekly_report_send(report: WeeklyReasonReport) -> int:
    """Emails the report to every active manager with an email address, one message
    each, HTML and plain text, in the clinic's language (``settings.LANGUAGE_CODE``).
    Once per report: the row is claimed first (``emailed_at`` set where it was empty),
    so a job run twice sends nothing the second time. Returns the messages sent; a
    refused address is logged and the others still go."""
    claimed = WeeklyReasonReport.objects.filter(pk=report.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return 0
    addresses = _managers()
    if not addresses:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        context = report_context(report, settings.LANGUAGE_CODE)
        context["url"] = settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
            "metrics:weekly_detail", args=[report.week_start.isoformat()]
        )
        subject = _("Recurring reasons, week of %(start)s – %(end)s") % {
            "start": date_format(context["week_start"], "j E"),
            "end": date_format(context["week_end"], "j E Y"),
        }
        text = render_to_string("metrics/email/weekly_report.txt", context)
        html = render_to_string("metrics/email/weekly_report.html", context)
    sent = 0
    mail = get_connection()
    for address in addresses:
        message = EmailMultiAlternatives(subject, text, to=[address], connection=mail)
        message.attach_alternative(html, "text/html")
        try:
            message.send()
        except OSError:  # smtplib errors are OSErrors: the others still get theirs
            logger.exception("weekly report of %s to %s failed", report.week_start, address)
        else:
            sent += 1
    return sent
