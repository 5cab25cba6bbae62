"""Shared builders for the history tests (no tests here)."""

from __future__ import annotations

import random

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
