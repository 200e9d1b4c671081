"""The weekly pattern report of complaint reasons (metrics.weekly_report): what it counts
per branch, doctor and stage kind, which changes it flags, the Monday email to the
managers, the managers' pages, and the beat entry that sends it."""

from __future__ import annotations

import copy
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic_crm.staff.roles import Role
from feedback.models import ReasonTag, Response, StageKind
from metrics import formulas
from metrics.models import MetricsSettings, WeeklyReasonReport
from metrics.tasks import weekly_reason_report_task
from metrics.weekly_report import EXAMPLE_CHARS, last_week_start, weekly_report_build
from tests.conftest import client_for
from tests.factories import BranchFactory
from tests.feedback.factories import answered

MSK = ZoneInfo("Europe/Moscow")
WEEK = date(2026, 11, 2)  # a Monday; tests.feedback.factories.DAY_ONE is its 12:00 MSK


# --- the test: pure arithmetic, against numbers worked by hand ---------------------------


def test_two_proportion_z_test_matches_hand_computed_values():
    # 30/100 against 20/100: p̂ = 50/200 = 0.25, SE = √(0.25 · 0.75 · (1/100 + 1/100))
    # = √0.00375 = 0.0612372, z = (0.30 − 0.20) / 0.0612372 = 1.63299,
    # p = 2 · (1 − Φ(1.63299)) = 2 · 0.051235 = 0.10247.
    test = formulas.two_proportion_z_test(30, 100, 20, 100)
    assert test.z == pytest.approx(1.63299, abs=1e-5)
    assert test.p_value == pytest.approx(0.10247, abs=1e-5)
    # 15/50 against 20/200: p̂ = 35/250 = 0.14, SE = √(0.14 · 0.86 · (1/50 + 1/200))
    # = √0.00301 = 0.0548635, z = 0.20 / 0.0548635 = 3.64541, p = 0.000267.
    test = formulas.two_proportion_z_test(15, 50, 20, 200)
    assert test.z == pytest.approx(3.64541, abs=1e-5)
    assert test.p_value == pytest.approx(0.000267, abs=1e-6)
    # The same shares the other way round: the same p, z of the other sign.
    assert formulas.two_proportion_z_test(20, 200, 15, 50).z == pytest.approx(-3.64541, abs=1e-5)


def test_two_proportion_z_test_has_nothing_to_test_without_samples_or_variance():
    assert formulas.two_proportion_z_test(0, 0, 3, 10) is None
    assert formulas.two_proportion_z_test(3, 10, 0, 0) is None
    assert formulas.two_proportion_z_test(0, 10, 0, 40) is None  # pooled share 0
    assert formulas.two_proportion_z_test(10, 10, 40, 40) is None  # pooled share 1
    with pytest.raises(ValueError, match="not a proportion"):
        formulas.two_proportion_z_test(11, 10, 0, 40)


def test_share_change_flags_a_real_jump_but_not_noise_or_a_handful():
    assert formulas.share_change(15, 50, 20, 200)[0] == "up"  # 30 % against 10 %, p < 0.001
    assert formulas.share_change(30, 100, 20, 100)[0] == ""  # p = 0.10: could be chance
    # 4 of 20 against 2 of 200 is very unlikely by chance (z ≈ 4.97), but four answers
    # are too few to call a pattern.
    direction, test = formulas.share_change(4, 20, 2, 200)
    assert test.p_value < 0.001
    assert direction == ""
    # A fall: 0 of 100 against 40 of 400 (10 expected): p̂ = 0.08,
    # z = −0.10 / √(0.08 · 0.92 · 0.0125) = −3.297, p = 0.00098.
    direction, test = formulas.share_change(0, 100, 40, 400)
    assert direction == "down"
    assert test.z == pytest.approx(-3.2969, abs=1e-4)
    assert test.p_value == pytest.approx(math.erfc(3.2969 / math.sqrt(2)), rel=1e-3)


def test_benjamini_hochberg_matches_hand_computed_values():
    # Sorted: 0.01, 0.03, 0.04, 0.20 (m = 4); m/j · p = 0.04, 0.06, 0.0533, 0.20; the
    # running minimum from the largest: 0.20, 0.0533, 0.0533, 0.04 — in the input order:
    assert formulas.benjamini_hochberg([0.01, 0.04, 0.03, 0.20]) == pytest.approx(
        [0.04, 0.16 / 3, 0.16 / 3, 0.20]
    )
    # 2/1 · 0.5 = 1.0 and 2/2 · 0.9 = 0.9: the smaller p takes the larger's 0.9.
    assert formulas.benjamini_hochberg([0.5, 0.9]) == pytest.approx([0.9, 0.9])
    assert formulas.benjamini_hochberg([]) == []


def test_one_p_of_003_among_twenty_tests_is_chance_not_a_change():
    # 15/50 against 20/200 alone: p < 0.001, flagged; p = 0.03 is flagged alone but not
    # as one of twenty tests of which the others show nothing (0.03 · 20 = 0.6).
    q_values = formulas.benjamini_hochberg([0.03] + [0.5] * 19)
    assert q_values[0] == pytest.approx(0.5)  # raised to the running minimum, 0.5
    assert formulas.share_change(15, 50, 20, 200, p_value=q_values[0])[0] == ""
    assert formulas.share_change(15, 50, 20, 200, p_value=0.03)[0] == "up"


# --- building rows ----------------------------------------------------------------------


def _tags() -> dict[str, ReasonTag]:
    return {tag.key: tag for tag in ReasonTag.objects.all()}


def _rows(survey, patient, specs) -> list[Response]:
    """Responses written straight away (no visit): ``specs`` are tuples of (day, branch,
    doctor, stage kind, reason keys, comment, negative); the time of answering is the
    visit day's noon in Moscow plus the spec's position, so the last spec is the newest."""
    tags = _tags()
    responses = Response.objects.bulk_create(
        Response(
            survey=survey,
            patient=patient,
            day=day,
            branch=branch,
            doctor=doctor,
            stage_kind=kind,
            channel="sms",
            submitted_at=datetime(day.year, day.month, day.day, 12, tzinfo=MSK)
            + timedelta(seconds=position),
            nps_score=3 if negative else 9,
            negative=negative,
            comment=comment,
        )
        for position, (day, branch, doctor, kind, _keys, comment, negative) in enumerate(specs)
    )
    through = Response.reasons.through
    through.objects.bulk_create(
        through(response_id=response.pk, reasontag_id=tags[key].pk)
        for response, spec in zip(responses, specs, strict=True)
        for key in spec[4]
    )
    return responses


def _group(report, dimension, key=None):
    for group in report.data["groups"]:
        if group["dimension"] == dimension and group["key"] == key:
            return group
    raise AssertionError(f"no {dimension} group {key}")


def _reasons(group) -> dict[str, tuple[int, float]]:
    return {row["reason"]: (row["count"], round(row["share"], 1)) for row in group["reasons"]}


@pytest.fixture
def small_sample():
    settings_row = MetricsSettings.current()
    settings_row.min_sample = 1
    settings_row.save()


def test_counts_and_shares_per_branch_doctor_and_stage_kind(clinic, visit_survey, small_sample):
    north = BranchFactory(name="North")
    central, d1, d2 = clinic.branch, clinic.doctor, clinic.surgeon
    none, stage, significant = StageKind.NONE, StageKind.STAGE, StageKind.SIGNIFICANT
    tue, sun = WEEK + timedelta(days=1), WEEK + timedelta(days=6)
    _rows(
        visit_survey,
        clinic.patient,
        [
            (WEEK, central, d1, none, ["waiting"], "", True),
            (tue, central, d1, none, ["waiting"], "", True),
            (sun, central, d1, none, ["waiting"], "", False),
            (sun, central, d1, none, [], "", False),
            (WEEK, central, d2, stage, ["waiting", "price"], "", True),
            (tue, central, d2, stage, ["price"], "", False),
            (WEEK, north, d2, significant, ["rudeness"], "", True),
            (tue, north, d2, significant, ["rudeness"], "", True),
            (tue, north, d2, significant, [], "", False),
            (sun, north, d2, significant, [], "", False),
            # Outside the week: the Monday after it, and in the baseline.
            (WEEK + timedelta(days=7), central, d1, none, ["waiting"], "", True),
            (WEEK - timedelta(days=10), central, d1, none, ["price"], "", True),
        ],
    )

    report = weekly_report_build(WEEK)

    data = report.data
    assert (data["week_start"], data["week_end"]) == ("2026-11-02", "2026-11-08")
    assert (data["baseline_start"], data["baseline_end"]) == ("2026-10-05", "2026-11-01")
    assert (data["responses"], data["baseline_responses"]) == (10, 1)
    overall = _group(report, "overall")
    assert _reasons(overall) == {"waiting": (4, 40.0), "price": (2, 20.0), "rudeness": (2, 20.0)}
    waiting = overall["reasons"][0]
    assert (waiting["negative"], waiting["baseline_count"], waiting["baseline_share"]) == (3, 0, 0)
    assert waiting["low"] < 40 < waiting["high"]  # Wilson's interval around the share
    price = next(row for row in overall["reasons"] if row["reason"] == "price")
    assert (price["baseline_count"], price["baseline_share"]) == (1, 100.0)
    assert _reasons(_group(report, "branch", central.pk)) == {
        "waiting": (4, 66.7),
        "price": (2, 33.3),
    }
    assert _group(report, "branch", north.pk)["name"] == "North"
    assert _reasons(_group(report, "branch", north.pk)) == {"rudeness": (2, 50.0)}
    assert _group(report, "doctor", d1.pk)["responses"] == 4
    assert _reasons(_group(report, "doctor", d1.pk)) == {"waiting": (3, 75.0)}
    # Named once by this doctor's answers: not a recurring reason of theirs.
    assert _reasons(_group(report, "doctor", d2.pk)) == {"price": (2, 33.3), "rudeness": (2, 33.3)}
    assert _reasons(_group(report, "stage_kind", "none")) == {"waiting": (3, 75.0)}
    assert _reasons(_group(report, "stage_kind", "stage")) == {"price": (2, 100.0)}
    assert _reasons(_group(report, "stage_kind", "significant")) == {"rudeness": (2, 50.0)}
    assert [g["dimension"] for g in data["groups"]] == [
        "overall",
        *["branch"] * 2,
        *["doctor"] * 2,
        *["stage_kind"] * 3,
    ]
    # Too few answers to flag anything, however new the reasons are.
    assert (data["flagged_up"], data["flagged_down"]) == (0, 0)


def test_doctors_and_branches_below_the_minimum_sample_are_not_shown(clinic, visit_survey):
    _rows(
        visit_survey,
        clinic.patient,
        [(WEEK, clinic.branch, clinic.doctor, "none", ["waiting"], "", True)] * 3,
    )
    report = weekly_report_build(WEEK)  # the clinic's minimum sample: 30 answers
    assert [g["dimension"] for g in report.data["groups"]] == ["overall", "stage_kind"]
    assert report.data["hidden"] == {"branch": 1, "doctor": 1}


LONG = "Прождал в коридоре больше часа, " + "никто ничего не объяснял, " * 20


@pytest.fixture
def jump(clinic, visit_survey, small_sample):
    """Four quiet weeks (50 answers each: 2 name the wait, 3 the price) and a week where
    15 of 50 name the wait, 4 the price, and 4 are suddenly rude."""
    specs = []
    branch, doctor = clinic.branch, clinic.doctor
    for week in range(1, 5):
        start = WEEK - timedelta(weeks=week)
        for n in range(50):
            keys = ["waiting"] if n < 2 else ["price"] if n < 5 else []
            specs.append((start + timedelta(days=n % 7), branch, doctor, "none", keys, "", False))
    for n in range(50):
        keys = ["waiting"] if n < 15 else ["price"] if n < 19 else ["rudeness"] if n < 23 else []
        comment = f"Ждал {n} минут у кабинета" if keys == ["waiting"] else ""
        day = WEEK + timedelta(days=min(n // 7, 6))
        specs.append((day, branch, doctor, "none", keys, comment, bool(keys)))
    specs.append((WEEK + timedelta(days=6), branch, doctor, "none", ["waiting"], LONG, True))
    _rows(visit_survey, clinic.patient, specs)
    return clinic


def test_a_real_jump_is_flagged_and_a_small_fluctuation_is_not(jump):
    report = weekly_report_build(WEEK)

    overall = {row["reason"]: row for row in _group(report, "overall")["reasons"]}
    waiting, price, rudeness = overall["waiting"], overall["price"], overall["rudeness"]
    assert (waiting["count"], waiting["baseline_count"]) == (16, 8)
    assert waiting["change"] == "up"
    assert waiting["p_value"] < waiting["q_value"] < 0.001  # corrected for the 12 tests
    assert report.data["tests"] == 12  # 3 reasons in each of the 4 groups
    assert (price["count"], price["baseline_count"], price["change"]) == (4, 12, "")
    assert price["p_value"] > 0.5  # 8 % against 6 %: chance
    assert (rudeness["count"], rudeness["baseline_count"], rudeness["change"]) == (4, 0, "")
    # The doctor's and the branch's groups are the same answers: the same flag.
    doctor = {row["reason"]: row for row in _group(report, "doctor", jump.doctor.pk)["reasons"]}
    assert doctor["waiting"]["change"] == "up"
    assert report.data["flagged_up"] == 4  # overall, branch, doctor, stage kind
    # The three most recent comments, the long one cut, as plain text.
    examples = waiting["examples"]
    assert len(examples) == 3
    assert examples[0].startswith("Прождал в коридоре")
    assert len(examples[0]) == EXAMPLE_CHARS
    assert examples[0].endswith("…")
    assert examples[1:] == ["Ждал 14 минут у кабинета", "Ждал 13 минут у кабинета"]
    assert price["examples"] == []  # only flagged reasons carry examples


def test_a_build_takes_the_same_queries_whatever_the_data(jump, visit_survey):
    with CaptureQueriesContext(connection) as small:
        weekly_report_build(WEEK)
    more = [BranchFactory(name=f"Branch {n}") for n in range(3)]
    doctor, kind = jump.surgeon, StageKind.STAGE
    _rows(
        visit_survey,
        jump.patient,
        [
            (WEEK + timedelta(days=n % 7), more[n % 3], doctor, kind, ["waiting"], "x", True)
            for n in range(60)
        ],
    )
    with CaptureQueriesContext(connection) as large:
        report = weekly_report_build(WEEK)
    assert len(report.data["groups"]) > 8
    assert len(large.captured_queries) == len(small.captured_queries) == 9


def test_rebuilding_the_same_week_replaces_its_report(jump, visit_survey):
    first = weekly_report_build(WEEK)
    _rows(
        visit_survey,
        jump.patient,
        [(WEEK, jump.branch, jump.doctor, "none", ["price"], "", True)],
    )
    second = weekly_report_build(WEEK)
    assert WeeklyReasonReport.objects.count() == 1
    assert second.pk == first.pk
    second.refresh_from_db()
    assert second.data["responses"] == first.data["responses"] + 1
    assert second.built_at > first.built_at


def test_only_a_monday_starts_a_week(db):
    with pytest.raises(ValueError, match="not a Monday"):
        weekly_report_build(WEEK + timedelta(days=1))
    assert last_week_start(date(2026, 11, 9)) == WEEK
    assert last_week_start(date(2026, 11, 15)) == WEEK  # a Sunday: still last week's


# --- the Monday email -------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script> прождал час в холле"


def test_the_monday_task_emails_each_manager_once_with_html_and_text(
    clinic, visit_survey, make_staff, small_sample, time_machine
):
    for n in range(1, 21):  # the four weeks before: answers naming no reason
        answered(clinic, visit_survey, "Всё хорошо", n=-n, nps_score=9)
    for n in range(6):
        answered(clinic, visit_survey, SCRIPT, n=n % 6, nps_score=3)
    second = make_staff(Role.MANAGER)
    away = make_staff(Role.MANAGER)
    away.is_active = False
    away.save()
    no_email = make_staff(Role.MANAGER)
    type(no_email).objects.filter(pk=no_email.pk).update(email="")
    time_machine.move_to(datetime(2026, 11, 9, 8, 0, tzinfo=MSK), tick=False)
    mail.outbox.clear()

    result = weekly_reason_report_task()

    assert result == {"week_start": "2026-11-02", "emailed": 2}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([clinic.manager.email, second.email])
    message = mail.outbox[0]
    assert "Повторяющиеся причины" in message.subject  # the clinic's language
    assert "2 ноября" in message.subject
    html, kind = message.alternatives[0]
    assert kind == "text/html"
    assert "&lt;script&gt;alert(1)&lt;/script&gt; прождал час в холле" in html
    assert "<script>" not in html
    assert SCRIPT in message.body  # plain text is not HTML: shown as written
    for body in (message.body, html):
        assert "Долгое ожидание" in body  # the reason's Russian name
        assert "Вся клиника" in body
    assert "/metrics/weekly/2026-11-02/" in message.body
    for body in (message.body, html):
        assert clinic.patient.last_name not in body
        assert clinic.patient.first_name not in body

    # Run again (a redelivery, a second beat): the week is built again, nobody emailed.
    assert weekly_reason_report_task() == {"week_start": "2026-11-02", "emailed": 0}
    assert len(mail.outbox) == 2
    assert WeeklyReasonReport.objects.count() == 1


# --- the managers' pages ----------------------------------------------------------------


def _report(week_start: date, groups: int = 1) -> WeeklyReasonReport:
    row = {
        "reason": "waiting",
        "reason_id": 1,
        "name": "Долгое ожидание",
        "name_en": "Long wait",
        "count": 16,
        "negative": 16,
        "share": 31.4,
        "low": 20.3,
        "high": 45.0,
        "baseline_count": 8,
        "baseline_share": 4.0,
        "p_value": 0.00001,
        "q_value": 0.00004,
        "change": "up",
        "examples": ["<b>Ждал</b> час"],
    }
    data = {
        "version": 1,
        "week_start": week_start.isoformat(),
        "week_end": (week_start + timedelta(days=6)).isoformat(),
        "baseline_start": (week_start - timedelta(weeks=4)).isoformat(),
        "baseline_end": (week_start - timedelta(days=1)).isoformat(),
        "responses": 51,
        "baseline_responses": 200,
        "min_sample": 30,
        "alpha": 0.05,
        "min_count": 5,
        "tests": 4 * groups,
        "flagged_up": groups,
        "flagged_down": 0,
        "hidden": {"branch": 0, "doctor": 2},
        "groups": [
            {
                "dimension": "overall" if n == 0 else "doctor",
                "key": None if n == 0 else n,
                "name": "" if n == 0 else f"Doctor {n}",
                "responses": 51,
                "baseline_responses": 200,
                "reasons": [row],
            }
            for n in range(groups)
        ],
    }
    return WeeklyReasonReport.objects.create(
        week_start=week_start, built_at=datetime(2026, 11, 9, 5, tzinfo=UTC), data=data
    )


def test_managers_read_the_weeks_and_other_roles_are_refused(clinic):
    _report(WEEK)
    detail = reverse("metrics:weekly_detail", args=["2026-11-02"])
    manager = client_for(clinic.manager)
    page = manager.get(reverse("metrics:weekly"))
    assert page.status_code == 200
    assert detail.encode() in page.content
    page = manager.get(detail)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Long wait" in body
    assert "&lt;b&gt;Ждал&lt;/b&gt; час" in body  # a patient's words, escaped
    assert 'data-testid="change"' in body
    assert manager.get(reverse("metrics:weekly_detail", args=["2026-11-09"])).status_code == 404
    assert manager.get("/metrics/weekly/not-a-date/").status_code == 404
    for user in (clinic.doctor, clinic.curator, clinic.admin):
        other = client_for(user)
        assert other.get(reverse("metrics:weekly")).status_code == 403
        assert other.get(detail).status_code == 403
        assert other.post(reverse("metrics:weekly")).status_code == 403
    assert WeeklyReasonReport.objects.count() == 1
    assert Client().get(detail).status_code == 302  # to the login page


def test_the_pages_take_the_same_queries_for_one_week_or_five(clinic):
    manager = client_for(clinic.manager)
    detail = reverse("metrics:weekly_detail", args=[WEEK.isoformat()])
    _report(WEEK)
    manager.get(reverse("metrics:weekly"))  # the session's first request, warmed
    with CaptureQueriesContext(connection) as list_one:
        assert manager.get(reverse("metrics:weekly")).status_code == 200
    with CaptureQueriesContext(connection) as detail_one:
        assert manager.get(detail).status_code == 200
    WeeklyReasonReport.objects.all().delete()
    _report(WEEK, groups=5)
    for week in range(1, 5):
        _report(WEEK - timedelta(weeks=week), groups=5)
    with CaptureQueriesContext(connection) as list_five:
        page = manager.get(reverse("metrics:weekly"))
    assert page.content.count(b'data-testid="week"') == 5
    with CaptureQueriesContext(connection) as detail_five:
        page = manager.get(detail)
    assert page.content.count(b'data-testid="group"') == 5
    assert len(list_five.captured_queries) == len(list_one.captured_queries)
    assert len(detail_five.captured_queries) == len(detail_one.captured_queries)


def test_a_manager_builds_the_current_week_on_demand(clinic):
    manager = client_for(clinic.manager)
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    response = manager.post(reverse("metrics:weekly"))
    assert response.status_code == 302
    assert response["Location"] == reverse("metrics:weekly_detail", args=[monday.isoformat()])
    page = manager.get(response["Location"])
    assert page.status_code == 200
    assert b'data-testid="in-progress"' in page.content
    assert manager.post(reverse("metrics:weekly")).status_code == 302
    assert WeeklyReasonReport.objects.filter(week_start=monday).count() == 1


# --- the beat entry ---------------------------------------------------------------------


def _next_run(schedule, last_run_at: datetime) -> datetime:
    """When beat runs the entry next after a run at ``last_run_at`` (asked right then)."""
    schedule = copy.copy(schedule)
    schedule.nowfun = lambda: last_run_at
    return last_run_at + schedule.remaining_estimate(last_run_at)


def test_the_beat_entry_fires_on_monday_at_eight_clinic_time():
    entry = settings.CELERY_BEAT_SCHEDULE["metrics-weekly-reason-report"]
    assert entry["task"] == "metrics.tasks.weekly_reason_report_task"
    schedule = entry["schedule"]
    assert settings.CELERY_TIMEZONE == "UTC"
    # Beat records runs in UTC; Monday 08:00 in Moscow is 05:00 UTC.
    monday = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert _next_run(schedule, monday) == datetime(2026, 11, 9, 8, 0, tzinfo=MSK)
    wednesday = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
    assert _next_run(schedule, wednesday) == datetime(2026, 11, 9, 8, 0, tzinfo=MSK)
    due = copy.copy(schedule)
    due.nowfun = lambda: datetime(2026, 11, 9, 8, 0, 30, tzinfo=MSK)
    assert due.is_due(monday).is_due
    due.nowfun = lambda: datetime(2026, 11, 9, 7, 59, tzinfo=MSK)
    assert not due.is_due(monday).is_due


@override_settings(TIME_ZONE="Europe/Berlin")
def test_the_beat_entry_keeps_eight_oclock_across_daylight_saving():
    berlin = ZoneInfo("Europe/Berlin")
    schedule = settings.CELERY_BEAT_SCHEDULE["metrics-weekly-reason-report"]["schedule"]
    before = datetime(2026, 3, 23, 8, 0, tzinfo=berlin)  # CET, UTC+1
    after = _next_run(schedule, before.astimezone(UTC))
    assert after == datetime(2026, 3, 30, 8, 0, tzinfo=berlin)  # CEST, UTC+2
    assert after.astimezone(UTC).hour == 6
