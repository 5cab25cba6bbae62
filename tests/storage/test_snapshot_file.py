"""The strings' snapshots on disk: round trip, atomic replace, a damaged file named."""

from __future__ import annotations

import pytest

from battery.status import CellSnapshot, StringSnapshot
from storage.snapshot_file import FILE_NAME, load_snapshots, save_snapshots


def test_round_trip(tmp_path):
    snaps = {"A1": StringSnapshot(87.5, (CellSnapshot(88.0, 93.0, 4210), None, CellSnapshot(87.5, 100.0, 3990)))}
    save_snapshots(tmp_path, snaps)
    assert load_snapshots(tmp_path) == snaps
    assert not list(tmp_path.glob("*.tmp"))


def test_no_file_is_no_snapshot(tmp_path):
    assert load_snapshots(tmp_path) == {}


def test_a_damaged_file_is_named(tmp_path):
    (tmp_path / FILE_NAME).write_text('{"A1": {"soc_pct": 5')
    with pytest.raises(ValueError, match=FILE_NAME):
        load_snapshots(tmp_path)
