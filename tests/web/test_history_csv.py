"""The CSV text of the History and Discharge downloads: RFC 4180, spreadsheet-safe names, gaps."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from web.history_csv import attachment, discharge_csv, quantity_of, series_csv

ZONE = ZoneInfo("Europe/Ljubljana")
WINTER, SUMMER = 1_767_225_600.0, 1_782_864_000.0  # 2026-01-01 and 2026-07-01 00:00 UTC


def test_names_with_commas_and_quotes_are_quoted_and_formulas_are_text() -> None:
    text = series_csv(
        ['A,1 "north"', "=cmd|x"],
        "voltage",
        quantity_of("string", "voltage"),
        [[(WINTER, 27.0, 27.05, 27.1)], [(SUMMER, 26.0, 26.5, 27.0)]],
        ZONE,
    )
    lines = text.split("\r\n")
    assert lines[0].startswith('time,"A,1 ""north"" voltage min [V]"')
    assert "'=cmd|x voltage avg [V]" in lines[0]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1] == ["2026-01-01T01:00:00.000+01:00", "27.0", "27.05", "27.1", "", "", ""]
    assert rows[2] == ["2026-07-01T02:00:00.000+02:00", "", "", "", "26.0", "26.5", "27.0"]  # a gap is empty
    assert text.endswith("\r\n") and len(rows) == 3


def test_units_are_the_registrys_ascii_spelling() -> None:
    header = series_csv(["A1/1"], "temperature", quantity_of("cell", "temperature"), [[]], ZONE).split("\r\n")[0]
    assert header == "time,A1/1 temperature min [degC],A1/1 temperature avg [degC],A1/1 temperature max [degC]"
    assert quantity_of("ups", "current").unit == "A"


def test_an_ongoing_discharge_has_no_end() -> None:
    event = {
        "id": 7,
        "ups_id": "-U1",
        "string_id": "S1",
        "start": WINTER,
        "end": None,
        "duration_s": 60.0,
        "ah": 0.5,
        "wh": 13.3,
        "min_string_voltage_v": 26.5,
        "min_cell_voltage_v": None,
        "min_cell": None,
        "weakest_cells": [],
        "figures_from": "scans",
    }
    rows = list(csv.reader(io.StringIO(discharge_csv([event], ZONE), newline="")))
    assert rows[1] == ["7", "'-U1", "S1", "2026-01-01T01:00:00+01:00", "", "60.0", "0.5", "13.3", "26.5", "", ""]


def test_a_file_name_keeps_only_safe_characters() -> None:
    name = attachment("cell", 'A1/3"\r\nX-Evil: 1')["Content-Disposition"]
    assert name == 'attachment; filename="btms-cell-A1_3___X-Evil__1.csv"'
