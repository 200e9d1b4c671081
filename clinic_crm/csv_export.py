"""CSV files people open in a spreadsheet program: the one writer every export uses.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before one) as a formula, so a doctor or a reason named
``=HYPERLINK("http://…")`` would become a live link, or worse, in the manager's
spreadsheet (OWASP "CSV injection"). Every text cell that starts so is written with a
leading single quote, which spreadsheets show as text. Numbers are written as numbers:
only values of type ``str`` are text, so a negative figure stays a negative figure —
exports pass numbers as ``int``, ``float`` or ``Decimal``, never pre-formatted strings.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """The value as a spreadsheet may read it: text that would start a formula gets a
    leading quote; anything that is not text is left as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_write(out, rows: Iterable[Iterable[Any]]) -> None:
    """Writes ``rows`` to the file-like ``out``, every cell through spreadsheet_cell."""
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([spreadsheet_cell(value) for value in row])


def csv_response(rows: Iterable[Iterable[Any]], *, filename: str) -> HttpResponse:
    """A CSV download of ``rows``, UTF-8 with a byte-order mark so that spreadsheet
    programs read Cyrillic right."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    csv_write(response, rows)
    return response
