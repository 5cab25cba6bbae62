"""Write docs/quantities.md from the registry of quantities (battery/quantities.py) and its consumers."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from btms.quantities_doc import render  # noqa: E402

if __name__ == "__main__":
    target = ROOT / "docs" / "quantities.md"
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")
