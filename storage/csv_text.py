"""Text fields of every CSV the gateway writes, made safe to open in a spreadsheet.

Excel, LibreOffice and Google Sheets treat a field that starts with `=`, `+`, `-`, `@`, TAB or
CR as a formula (CSV injection): a token named `-A1` or `=HYPERLINK(...)` in alarms.csv would
be evaluated when an operator opens the file. OWASP's rule: such a field is written with a
leading apostrophe, which the spreadsheet shows as text and never evaluates.

Only text goes through here: ids, names, times, states, token names, alarm titles. Numbers the
gateway formats itself from its own readings (a current of -12.50 A) are written bare, so that
they stay numbers a spreadsheet can sum and plot; they are digits with at most a leading minus
sign and a decimal point, which no spreadsheet reads as a formula.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """`text` as a CSV field that a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def spreadsheet_row(fields: Iterable[str]) -> list[str]:
    """A row whose every field is text (no number of the gateway's own among them)."""
    return [spreadsheet_text(f) for f in fields]
