"""Write the small history this directory holds (run from the root of a checkout).

The committed `history/` was written by this script at revision cbf98a5, the last one whose
history stored a string's SOC and SOH in 0.1 % (format 1), so that
tests/storage/history/test_formats.py can prove the current code still reads it. Run at a newer revision it
writes the same scans in the current format.

    python tests/data/history_format1/write_history.py OUT_DIR

Two strings (S1, S2 of UPS U1, 3 batteries each), a scan every 10 minutes over two UTC days
(2024-10-04 and 2024-10-05): the first day compacted into the cold tier (its hot file deleted),
the second left in the hot tier, and a discharge of S1 on the second day. See `expected_soc`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

from battery.codes import ChargeState, Health  # noqa: E402
from battery.status import StringStatus  # noqa: E402
from storage.history import schema  # noqa: E402
from storage.history.compactor import compact_day  # noqa: E402
from storage.history.writer import HistoryWriter  # noqa: E402

DAY = 86_400
T0 = 20_000 * DAY  # 2024-10-04 00:00 UTC
STEP = 600
SCANS_PER_DAY = DAY // STEP
DISCHARGE = range(SCANS_PER_DAY + 60, SCANS_PER_DAY + 66)  # S1, day 2, 10:00-11:00


def expected_soc(string_no: int, i: int) -> int:
    """SOC (%) of string `string_no` at scan i (0 = T0): whole percent, as a string's always is."""
    return 100 - i % 30 if string_no == 1 else 80 - i % 7


def expected_soh(string_no: int) -> int:
    return 95 if string_no == 1 else 88


def status(string_no: int, i: int) -> StringStatus:
    cells = 3
    discharging = string_no == 1 and i in DISCHARGE
    return StringStatus(
        string_id=f"S{string_no}",
        ups_id="U1",
        index=string_no,
        scan_no=i,
        timestamp=T0 + i * STEP,
        health=Health.OK,
        voltage_v=40.5 + string_no / 100,
        current_a=-12.5 if discharging else 0.25,
        state=ChargeState.DISCHARGE if discharging else ChargeState.FLOAT,
        soc_pct=float(expected_soc(string_no, i)),
        soh_pct=float(expected_soh(string_no)),
        balance_pct=98.76,
        ambient_c=21.5,
        humidity_pct=45.5,
        hall_ok=True,
        relay_closed=True,
        cell_health=(int(Health.OK),) * cells,
        cell_faults=(0,) * cells,
        cell_voltage_mv=(13500, 13501, 13499),
        cell_resistance_uohm=(4001, 4002, 4003),
        cell_temperature_dc=(251, 252, 253),
        cell_soc_pct=(expected_soc(string_no, i),) * cells,
        cell_soh_pct=(expected_soh(string_no),) * cells,
        discharge_started_at=T0 + DISCHARGE[0] * STEP if discharging else None,  # the detector's event
    )


async def write(out: Path) -> None:
    w = HistoryWriter(out, commit_interval_s=3600, housekeeping_interval_s=1e9, compact=False)
    await w.open()
    for i in range(2 * SCANS_PER_DAY):
        for string_no in (1, 2):
            w.submit_string(status(string_no, i))
    await w.close()
    compact_day(out, schema.day_of(T0))
    schema.hot_path(out, schema.day_of(T0)).unlink()


if __name__ == "__main__":
    asyncio.run(write(Path(sys.argv[1])))
