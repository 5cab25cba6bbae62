"""The uplink's outbox: ordered, durable, bounded, and what it drops first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage.outbox import OUTBOX_FILE, ROW_ALLOWANCE, Dropped, Outbox, Priority


def open_outbox(tmp_path: Path, max_bytes: int = 1_000_000) -> Outbox:
    return Outbox(tmp_path / OUTBOX_FILE, max_bytes)


def test_records_leave_in_the_order_they_came_and_only_when_removed(tmp_path):
    box = open_outbox(tmp_path)
    for i, priority in enumerate([Priority.DATA, Priority.CELL, Priority.EVENT, Priority.DATA]):
        box.append(priority, f"dev{i}", 1000 + i, bytes([i]) * 10)
    got = box.oldest(10)
    assert [r.device for r in got] == ["dev0", "dev1", "dev2", "dev3"]
    assert [r.created_ms for r in got] == [1000, 1001, 1002, 1003] and got[2].priority is Priority.EVENT
    assert [r.device for r in box.oldest(2, after_id=got[1].id)] == ["dev2", "dev3"]
    assert box.remove([got[0].id, got[2].id, 999]) == 2
    assert [r.device for r in box.oldest(10)] == ["dev1", "dev3"]
    assert (box.records, box.used_bytes) == (2, 2 * (10 + ROW_ALLOWANCE))


def test_the_records_survive_a_reopen_with_their_counters(tmp_path):
    box = open_outbox(tmp_path)
    box.append(Priority.DATA, "UPS-A", 5, b"payload")
    box.set_counter("bdseq", 41)
    box.close()
    again = open_outbox(tmp_path)
    assert [(r.device, r.payload) for r in again.oldest(10)] == [("UPS-A", b"payload")]
    assert again.counter("bdseq") == 41 and again.counter("nothing") is None
    assert again.records == 1 and again.used_bytes == len(b"payload") + ROW_ALLOWANCE


def test_when_full_cell_data_goes_first_then_string_data_and_events_last(tmp_path):
    record = ROW_ALLOWANCE + 100
    box = open_outbox(tmp_path, max_bytes=10 * record)
    for i in range(4):
        box.append(Priority.EVENT, f"event{i}", i, b"e" * 100)
        box.append(Priority.CELL, f"cell{i}", i, b"c" * 100)
    box.append(Priority.DATA, "data0", 9, b"d" * 100)
    box.append(Priority.DATA, "data1", 9, b"d" * 100)
    assert box.records == 10
    dropped = box.append(Priority.DATA, "data2", 10, b"d" * 100)
    assert dropped == Dropped(cell=1)
    assert "cell0" not in [r.device for r in box.oldest(20)]
    dropped = Dropped()
    for i in range(3, 9):
        dropped += box.append(Priority.DATA, f"data{i}", 10 + i, b"d" * 100)
    assert dropped == Dropped(cell=3, data=3)  # every cell record first, then the oldest string data
    devices = [r.device for r in box.oldest(20)]
    assert devices[:4] == [f"event{i}" for i in range(4)] and "data0" not in devices and "data8" in devices
    assert box.records == 10 and box.used_bytes <= 10 * record
    assert box.dropped_total() == Dropped(cell=4, data=3)


def test_events_are_dropped_only_when_nothing_else_is_left(tmp_path):
    record = ROW_ALLOWANCE + 100
    box = open_outbox(tmp_path, max_bytes=3 * record)
    for i in range(3):
        box.append(Priority.EVENT, f"event{i}", i, b"e" * 100)
    assert box.append(Priority.CELL, "cell", 3, b"c" * 100) == Dropped(event=1)
    assert [r.device for r in box.oldest(10)] == ["event1", "event2", "cell"]


def test_the_file_on_disk_stays_near_the_bound(tmp_path):
    bound = 256 * 1024
    box = open_outbox(tmp_path, max_bytes=bound)
    for i in range(5000):
        box.append(Priority.CELL if i % 3 else Priority.DATA, "UPS-A:A1", i, os.urandom(200))
    box.close()
    on_disk = sum(p.stat().st_size for p in tmp_path.glob(OUTBOX_FILE + "*"))
    assert box.used_bytes <= bound
    # WAL and page slack on top of the bound; the file does not grow with the records appended
    assert on_disk < 3 * bound + 4 * 1024 * 1024, on_disk


def test_a_record_bigger_than_the_whole_outbox_is_refused_by_size(tmp_path):
    box = open_outbox(tmp_path, max_bytes=1000)
    with pytest.raises(ValueError, match="cannot fit an outbox of 1000 bytes"):
        box.append(Priority.DATA, "x", 0, b"x" * 2000)
    assert box.records == 0
