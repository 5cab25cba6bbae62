"""The strings' snapshots on disk: round trip, atomic replace, a damaged file named."""

from __future__ import annotations

import json

import pytest

from battery.analytics import ResistanceBaseline, SohEstimate, SohMethod
from battery.status import CellSnapshot, StringSnapshot
from storage.snapshot_file import FILE_NAME, load_snapshots, save_snapshots


def test_round_trip(tmp_path):
    snaps = {"A1": StringSnapshot(87.5, (CellSnapshot(88.0, 93.0, 4210), None, CellSnapshot(87.5, 100.0, 3990)))}
    save_snapshots(tmp_path, snaps)
    assert load_snapshots(tmp_path) == snaps
    assert not list(tmp_path.glob("*.tmp"))


def test_the_resistance_baseline_and_the_measured_capacity_survive_a_restart(tmp_path):
    learning = ResistanceBaseline(100.0, (4000, 4100, 3990), 3700.0)
    learned = ResistanceBaseline(100.0, (4000, 4010), 900.0, 4005.0, 1000.0)
    capacity = SohEstimate(82.5, SohMethod.CAPACITY, 5000.0, to_end_voltage=True)
    partial = SohEstimate(91.0, SohMethod.CAPACITY, 5000.0)
    cells = (
        CellSnapshot(50.0, 82.5, 4000, None, learning, capacity),
        CellSnapshot(51.0, 90.0, 4005, None, learned, partial),
    )
    save_snapshots(tmp_path, {"A1": StringSnapshot(50.0, cells)})
    assert load_snapshots(tmp_path)["A1"].cells == cells


def test_a_file_of_an_older_gateway_still_loads(tmp_path):
    (tmp_path / FILE_NAME).write_text('{"A1": {"soc_pct": 80.0, "cells": [[80.0, 95.0, 4100], null]}}')
    assert load_snapshots(tmp_path)["A1"].cells == (CellSnapshot(80.0, 95.0, 4100), None)


def test_a_capacity_saved_before_it_said_how_it_was_measured_does_not_scale_the_count(tmp_path):
    older = {"A1": {"soc_pct": 80.0, "cells": [[80.0, 85.0, 4100, None, {"soh_pct": 85.0, "at": 10.0}]]}}
    (tmp_path / FILE_NAME).write_text(json.dumps(older))
    loaded = load_snapshots(tmp_path)["A1"].cells[0].soh_capacity
    assert loaded == SohEstimate(85.0, SohMethod.CAPACITY, 10.0, to_end_voltage=False)


def test_no_file_is_no_snapshot(tmp_path):
    assert load_snapshots(tmp_path) == {}


def test_a_damaged_file_is_named(tmp_path):
    (tmp_path / FILE_NAME).write_text('{"A1": {"soc_pct": 5')
    with pytest.raises(ValueError, match=FILE_NAME):
        load_snapshots(tmp_path)
