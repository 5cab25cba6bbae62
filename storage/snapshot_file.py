"""The strings' snapshots on disk, so SOC and SOH survive a restart of the gateway.

SOH is measured against each battery's reference resistance, taken when it was commissioned:
losing it on a restart would make every aged battery look new again (SOH 100 %) and "SOH low"
could never be raised. One JSON file, replaced atomically (write, fsync, rename), so a power
cut leaves either the old file or the new one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from battery.status import CellSnapshot, StringSnapshot

FILE_NAME = "string-snapshots.json"


def save_snapshots(storage_dir: Path, snapshots: dict[str, StringSnapshot]) -> None:
    storage_dir.mkdir(parents=True, exist_ok=True)
    body = {
        string_id: {
            "soc_pct": snap.soc_pct,
            "cells": [None if c is None else [c.soc_pct, c.soh_pct, c.reference_resistance_uohm] for c in snap.cells],
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
                tuple(None if c is None else CellSnapshot(float(c[0]), float(c[1]), int(c[2])) for c in entry["cells"]),
            )
            for string_id, entry in body.items()
        }
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise ValueError(f"{path}: not a snapshot file ({error})") from error
