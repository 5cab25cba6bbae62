"""The strings' snapshots on disk, so SOC and SOH survive a restart of the gateway.

SOH is measured against each battery's resistance baseline, learned over its commissioning
window, and against the capacity its last deep discharge measured: losing them on a restart
would make every aged battery look new again (SOH 100 %) and "SOH low" could never be raised.
A cell is [soc, soh, reference µΩ, baseline, capacity SOH]; files of older gateways have only
the first three, and their reference seeds a new baseline (actors/device/cell_sensor.py). One JSON file, replaced atomically (write, fsync, rename), so a power
cut leaves either the old file or the new one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from battery.analytics import ResistanceBaseline, SohEstimate, SohMethod
from battery.status import CellSnapshot, StringSnapshot

FILE_NAME = "string-snapshots.json"


def save_snapshots(storage_dir: Path, snapshots: dict[str, StringSnapshot]) -> None:
    storage_dir.mkdir(parents=True, exist_ok=True)
    body = {
        string_id: {
            "soc_pct": snap.soc_pct,
            "cells": [None if c is None else _cell_entry(c) for c in snap.cells],
        }
        for string_id, snap in snapshots.items()
    }
    path = storage_dir / FILE_NAME
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(body, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def load_snapshots(storage_dir: Path) -> dict[str, StringSnapshot]:
    """The saved snapshots; {} when there are none. A damaged file raises ValueError naming it."""
    path = storage_dir / FILE_NAME
    if not path.exists():
        return {}
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return {
            string_id: StringSnapshot(
                float(entry["soc_pct"]),
                tuple(None if c is None else _cell(c) for c in entry["cells"]),
            )
            for string_id, entry in body.items()
        }
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise ValueError(f"{path}: not a snapshot file ({error})") from error


def _cell_entry(c: CellSnapshot) -> list:
    baseline = None
    if c.baseline is not None:
        b = c.baseline
        baseline = {
            "started_at": b.started_at,
            "samples": list(b.samples),
            "last_sample_at": b.last_sample_at,
            "learned_uohm": b.learned_uohm,
            "learned_at": b.learned_at,
        }
    capacity = None
    if c.soh_capacity is not None and c.soh_capacity.soh_pct is not None:
        capacity = {
            "soh_pct": c.soh_capacity.soh_pct,
            "at": c.soh_capacity.at,
            "to_end_voltage": c.soh_capacity.to_end_voltage,
        }
    return [c.soc_pct, c.soh_pct, c.reference_resistance_uohm, baseline, capacity]


def _optional_float(value) -> float | None:
    return None if value is None else float(value)


def _cell(entry: list) -> CellSnapshot:
    baseline = capacity = None
    if len(entry) > 3 and entry[3] is not None:
        b = entry[3]
        baseline = ResistanceBaseline(
            _optional_float(b["started_at"]),
            tuple(int(x) for x in b["samples"]),
            _optional_float(b["last_sample_at"]),
            _optional_float(b["learned_uohm"]),
            _optional_float(b["learned_at"]),
        )
    if len(entry) > 4 and entry[4] is not None:
        c = entry[4]
        to_end = bool(c.get("to_end_voltage", False))  # older files: not known, so not used for the count
        capacity = SohEstimate(float(c["soh_pct"]), SohMethod.CAPACITY, _optional_float(c["at"]), to_end)
    return CellSnapshot(float(entry[0]), float(entry[1]), int(entry[2]), None, baseline, capacity)
