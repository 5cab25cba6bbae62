"""Write docs/fieldbus.md from the register maps (protocols/fieldbus/device_maps.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from protocols.fieldbus.fieldbus_doc import render  # noqa: E402

if __name__ == "__main__":
    target = ROOT / "docs" / "fieldbus.md"
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")
