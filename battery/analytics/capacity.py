"""What a cell delivers during one discharge, for its capacity SOH (soh.soh_from_capacity).

During a discharge each scan adds |I|·dt·(|I|/I_rated)^(k−1) (Ah normalised to the rated rate
by Peukert's law, C = C_I·(|I|/I_rated)^(k−1), so a fast and a slow discharge count alike),
until this cell's own voltage reaches the end voltage: IEEE 450's capacity test ends for each
cell there, so in a series string, where every cell carries the same current, each cell's
capacity is what it delivered until then and the cells differ. When the discharge ends, the
SOC the cell lost is taken from references independent of the integral: it started from its
SOC at the start (100 % when it came from float at its tail current), and it ended at 0 % if
its voltage reached the end voltage, else at the SOC of its open-circuit voltage, estimated from
the last loaded voltage plus I·R (the ohmic drop).
"""

from __future__ import annotations

from dataclasses import dataclass

from battery.analytics.load_deviation import ohmic_free_vpc
from battery.analytics.params import BatteryParams, SohParams
from battery.analytics.soc import peukert_factor, soc_from_ocv
from battery.analytics.soh import UNKNOWN, SohEstimate, soh_from_capacity


@dataclass(frozen=True)
class CapacityRun:
    soc_start_pct: float
    delivered_rated_ah: float = 0.0
    reached_end: bool = False
    last_ocv_vpc: float | None = None  # the last loaded vpc + I·R per cell


def start_run(soc_pct: float) -> CapacityRun:
    return CapacityRun(soc_pct)


def step_run(
    run: CapacityRun,
    current_a: float,
    vpc: float,
    resistance_uohm: float | None,
    dt_s: float,
    params: BatteryParams,
) -> CapacityRun:
    """The run after one scan of the discharge; charging scans add nothing."""
    if current_a >= 0 or dt_s <= 0 or dt_s > params.max_gap_s or run.reached_end:
        return run  # a cell at its end voltage has delivered its capacity: the rest is not its
    delivered = run.delivered_rated_ah + abs(current_a) * peukert_factor(current_a, params) * dt_s / 3600.0
    return CapacityRun(
        run.soc_start_pct,
        delivered,
        run.reached_end or vpc <= params.end_vpc,
        ohmic_free_vpc(current_a, vpc, resistance_uohm, params),
    )


def finish_run(run: CapacityRun, at: float, battery: BatteryParams, params: SohParams) -> SohEstimate:
    """The capacity SOH of the finished run, or UNKNOWN when it was too shallow."""
    if run.reached_end:
        soc_end = 0.0
    elif run.last_ocv_vpc is not None:
        soc_end = soc_from_ocv(run.last_ocv_vpc, battery)
    else:
        return UNKNOWN
    return soh_from_capacity(
        run.delivered_rated_ah, run.soc_start_pct - soc_end, at, battery, params, to_end_voltage=run.reached_end
    )
