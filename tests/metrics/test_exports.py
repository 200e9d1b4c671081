"""The dashboard's CSV export neutralises names that a spreadsheet would run as formulas
(a doctor, a branch, a reason) and keeps figures as numbers, negative NPS included."""

import csv
import io
from datetime import UTC, datetime

import pytest

from feedback.models import ReasonTag
from tests.conftest import verified_client_for
from tests.metrics.factories import DASHBOARD_URL, answered_visits

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://x")'


def _export_rows(clinic):
    response = verified_client_for(clinic.manager).get(
        DASHBOARD_URL.replace("/dashboard/", "/dashboard/export.csv")
    )
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_a_doctor_branch_or_reason_named_like_a_formula_comes_out_as_text(
    clinic, visit_survey, time_machine
):
    time_machine.move_to(datetime(2026, 10, 8, 9, 0, tzinfo=UTC), tick=False)
    clinic.doctor.first_name, clinic.doctor.last_name = FORMULA, ""
    clinic.doctor.save()
    clinic.branch.name = "@SUM(A1:A9)"
    clinic.branch.save()
    # The only reason that names dirt: the clinic's own is switched off.
    ReasonTag.objects.filter(key="cleanliness").update(is_active=False)
    ReasonTag.objects.create(key="formula", name="-2+3+cmd|' /C calc'!A0", keywords="грязно")
    answered_visits(clinic, visit_survey, 30, score=1, comment="Грязно")
    rows = _export_rows(clinic)
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")]
    doctor = next(r for r in rows if r[0] == "doctor_nps")
    assert doctor[1].startswith("'=HYPERLINK(")
    branch = next(r for r in rows if r[0] == "branch_nps")
    assert branch[1] == "'@SUM(A1:A9)"
    reasons = [r for r in rows if r[0] == "reason_this_week"]
    assert reasons
    assert reasons[0][1] == "'-2+3+cmd|' /C calc'!A0"
    # A real negative figure is still a number a spreadsheet can sum.
    nps = next(r for r in rows if r[:2] == ["figure", "NPS"])
    assert nps[2:4] == ["-100.00", "30"]
