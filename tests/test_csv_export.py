"""The one CSV writer: text that a spreadsheet would run as a formula is written with a
leading quote; numbers stay numbers, negative ones included."""

import csv
import io
from decimal import Decimal

import pytest

from clinic_crm.csv_export import csv_response, csv_write, spreadsheet_cell


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"],
)
def test_text_that_starts_a_formula_is_neutralised(text):
    assert spreadsheet_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Иванова", "NPS", "", "2026-09-01 – 2026-10-31", "a=b"])
def test_plain_text_is_left_alone(value):
    assert spreadsheet_cell(value) == value


@pytest.mark.parametrize("value", [-12, -12.5, Decimal("-100.00"), 0, None])
def test_numbers_stay_numbers(value):
    assert spreadsheet_cell(value) == value


def test_rows_are_written_through_the_neutraliser():
    out = io.StringIO()
    csv_write(out, [["doctor_nps", '=HYPERLINK("http://x")', Decimal("-42.50"), 7]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["doctor_nps", '\'=HYPERLINK("http://x")', "-42.50", "7"]
    ]


def test_the_download_is_utf8_with_a_byte_order_mark():
    response = csv_response([["name"], ["@Анна"]], filename="x.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert response.content.decode("utf-8").startswith("\ufeffname")
    assert "'@Анна" in response.content.decode("utf-8")
