"""Shared builders for the history tests (no tests here)."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from battery.codes import ChargeState, Health
from battery.status import StringStatus

DAY = 86_400
T0 = 20_000 * DAY  # 2024-10-04 00:00 UTC, a day boundary


def make_status(string_id: str = "S1", index: int = 1, ts: float = T0, cells: int = 4, *, ups_id: str = "U1",
                stale: bool = False, state: ChargeState = ChargeState.FLOAT, voltage_mv: int = 13500,
                current_a: float = 0.2, rng: random.Random | None = None, no_response: tuple[int, ...] = ()
                ) -> StringStatus:
    """A string scan with `cells` cells; cell i (1-based) has resistance 4000+i µΩ."""
    r = rng or random.Random(0)
    return StringStatus(
        string_id=string_id, ups_id=ups_id, index=index, scan_no=0, timestamp=ts,
        health=Health.STALE if stale else Health.OK, voltage_v=27.1, current_a=current_a, state=state,
        soc_pct=90.0, soh_pct=99.0, balance_pct=1.2, ambient_c=22.5, humidity_pct=None, hall_ok=True,
        relay_closed=True,
        cell_health=tuple(Health.STALE if i + 1 in no_response else Health.OK for i in range(cells)),
        cell_faults=tuple(1 if i + 1 in no_response else 0 for i in range(cells)),
        cell_voltage_mv=tuple(voltage_mv + r.randint(-1, 1) for _ in range(cells)),
        cell_resistance_uohm=tuple(4000 + i + 1 for i in range(cells)),
        cell_temperature_dc=tuple(250 for _ in range(cells)),
        cell_soc_pct=tuple(90 for _ in range(cells)),
        cell_soh_pct=tuple(99 for _ in range(cells)),
    )


def write_past_days(storage_dir: Path, strings: list[tuple[str, int, str]], days: int, step_s: float = 60.0,
                    cells: int = 4, hot_days: int = 1) -> list[int]:
    """`days` whole UTC days of scans ending yesterday, stored as a running gateway leaves them.

    strings: (string id, index, UPS id) as the topology numbers them. Every day but the last
    `hot_days` is compacted into its cold month and its hot file deleted. Returns the days.
    """
    from storage.history import schema
    from storage.history.compactor import compact_day
    from storage.history.writer import HistoryWriter

    today = schema.day_of(time.time())
    written = list(range(today - days, today))

    async def write() -> None:
        w = HistoryWriter(storage_dir, commit_interval_s=3600, housekeeping_interval_s=1e9, compact=False)
        await w.open()
        rng = random.Random(days)
        for day in written:
            for i in range(int(DAY / step_s)):
                for string_id, index, ups_id in strings:
                    w.submit_string(make_status(string_id, index, day * DAY + i * step_s, cells, ups_id=ups_id,
                                                current_a=-12.5 if i % 60 == 0 else 0.2, rng=rng))
            await w.flush()
        await w.close()

    asyncio.run(write())
    for day in written[: len(written) - hot_days]:
        compact_day(storage_dir, day)
        schema.hot_path(storage_dir, day).unlink()
    return written
