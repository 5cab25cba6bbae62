"""Ground truth of a simulated string: what each battery really holds, for benchmarks and tests.

The gateway never imports this module (an import-linter contract in pyproject.toml): it sees
only what the devices measure. A benchmark reads the truth here to score the gateway's
estimates against it.

Definitions (docs/battery-math.md, "Ground truth: the simulator's battery"):
- SOC: the charge a battery would still deliver at its rating's conditions (10-hour current,
  25 °C, to 1.75 V/cell) over what it delivers from full. It does not depend on the present
  current or temperature; the runtime does (`runtime_to_cutoff_s`).
- capacity: what the battery delivers from full at those conditions, as it has aged; its SOH
  is that over the rated capacity of its type.
- resistance: its internal resistance full and at 25 °C, as it has aged (what an SOH from
  resistance should track); `resistance_now_ohm` is the value a cell sensor reads now.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from sim.load_profile import LoadProfile
from sim.string_model import SimulatedString

_RUNTIME_STEP_S = 10.0


@dataclass(frozen=True)
class BatteryTruth:
    soc: float  # 0..1, by the rating's definition
    available_soc: float  # the available well's level: what the plates (and the voltage) see
    capacity_ah: float  # deliverable from full at the rating's conditions, as aged
    rated_capacity_ah: float  # of the battery type
    new_capacity_ah: float  # this battery's when new (the spread from battery to battery)
    resistance_ohm: float  # full, 25 °C, as aged
    new_resistance_ohm: float
    resistance_now_ohm: float  # at its present SOC and temperature
    temperature_c: float
    balancing: bool

    @property
    def soh_capacity(self) -> float:
        """Capacity over the rated capacity (IEEE 450: replace below 0.8)."""
        return self.capacity_ah / self.rated_capacity_ah

    @property
    def resistance_rise(self) -> float:
        """Resistance over its own new value, minus one (0.2 = +20 %)."""
        return self.resistance_ohm / self.new_resistance_ohm - 1.0


@dataclass(frozen=True)
class StringTruth:
    t: float
    current_a: float  # + charge, - discharge
    voltage_v: float
    cut_off: bool  # the UPS stopped on low battery in this discharge
    insulation_kohm: float
    ambient_c: float
    batteries: tuple[BatteryTruth, ...]

    @property
    def soc(self) -> float:
        """A string is empty when its weakest battery is: the lowest SOC."""
        return min(b.soc for b in self.batteries)


def string_truth(string: SimulatedString) -> StringTruth:
    """The truth of `string` at its present time (after its last `advance`)."""
    bank = string.bank
    now = string.now if string.now is not None else 0.0
    available = bank.available()
    socs = bank.rated_soc()
    capacities = bank.rated_capacity_ah()
    r_now = bank.resistance_now(available)
    batteries = tuple(
        BatteryTruth(
            soc=socs[i],
            available_soc=available[i],
            capacity_ah=capacities[i],
            rated_capacity_ah=bank.rated_ah,
            new_capacity_ah=bank.cap_new[i],
            resistance_ohm=bank.r[i],
            new_resistance_ohm=bank.r_new[i],
            resistance_now_ohm=r_now[i],
            temperature_c=bank.temp[i],
            balancing=bank.bled[i],
        )
        for i in range(bank.n)
    )
    return StringTruth(
        t=now,
        current_a=string.current_a,
        voltage_v=sum(string.true_cell_voltages()),
        cut_off=string.cut_off,
        insulation_kohm=string.insulation_kohm,
        ambient_c=string.climate.temperature_c(now),
        batteries=batteries,
    )


def runtime_to_cutoff_s(string: SimulatedString, current_a: float, limit_s: float = 48 * 3600.0) -> float | None:
    """How long `string` would run from now at a constant discharge `current_a` (> 0) before the
    UPS's low-voltage cutoff, found by discharging a copy; None if it runs past `limit_s`."""
    if current_a <= 0:
        raise ValueError(f"runtime needs a discharge current > 0 A, got {current_a}")
    if string.now is None:
        raise ValueError(f"string {string.config.id}: advance it to a time before asking its runtime")
    twin = copy.deepcopy(string)
    start = twin.now
    assert start is not None
    twin.load_profile = LoadProfile()
    twin.load_profile.schedule_discharge(start, limit_s, current_a)
    t = start
    while t < start + limit_s:
        t += _RUNTIME_STEP_S
        twin.advance(t)
        if twin.cut_off:
            return t - start
    return None
