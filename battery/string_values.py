"""From one scan's cell statuses and string readings to a StringStatus. Pure.

Kept apart from the actor so the arithmetic of a string (state, SOC, SOH, balance, health)
is tested without any actor system.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from battery.analytics import BatteryParams, classify, loaded_reference_vpc, params_for
from battery.analytics.load_deviation import discharging
from battery.codes import ChargeState, Health
from battery.maths import balance_pct, volts_per_cell, weakest
from battery.plausibility import NO_RESPONSE, reading_faults
from battery.quantities import Quantity, quantity
from battery.readings import CellBatch, StringScan
from battery.site import StringConfig
from battery.status import CellStatus, StringStatus
from battery.string_plausibility import StringMeasurements, measured_string_values

STRING_VOLTAGE = quantity("string.voltage")
STRING_CURRENT = quantity("string.current")
AMBIENT = quantity("string.ambient_temperature")  # BM-TH range
HUMIDITY = quantity("string.ambient_humidity")
_FAULTS, _HEALTH, _SOC, _SOH = (attrgetter(name) for name in ("faults", "health", "soc_pct", "soh_pct"))
_OK = int(Health.OK)


def string_status(
    config: StringConfig,
    scan: StringScan,
    batch: CellBatch,
    cells: Sequence[CellStatus],
    last_soc_pct: float,
    measured: StringMeasurements | None = None,
) -> StringStatus:
    """`batch` is cell_batch(scan, n): the scan's cell values, one per battery; `measured` is
    measured_string_values(config, scan) when the caller has it already (the string master does)."""
    if not scan.responded:
        return stale_status(config, scan.scan_no, scan.timestamp, last_soc_pct)
    voltage_v = STRING_VOLTAGE.from_wire(scan.voltage_cv)
    current_a = STRING_CURRENT.from_wire(scan.current_ca)
    string_sensor_fault = (measured or measured_string_values(config, scan)).sensor_fault
    ambient_c = _in_range(scan.ambient_dc, AMBIENT) if config.climate_sensor else None
    humidity = _in_range(scan.humidity_dpct, HUMIDITY) if config.climate_sensor else None
    climate_fault = config.climate_sensor and (ambient_c is None or humidity is None)

    voltages, resistances, temperatures = batch.voltage_mv, batch.resistance_uohm, batch.temperature_dc
    # Per-cell columns, each read once with a C-level getter: this runs over 120 cells every scan.
    faults = tuple(map(int, map(_FAULTS, cells)))
    if any(faults) and any(f & NO_RESPONSE for f in faults):
        # No answer (from the device or from a failed cell actor): no value to show.
        answered = [not f & NO_RESPONSE for f in faults]
        voltages, resistances, temperatures = (
            tuple(v if ok else 0 for v, ok in zip(values, answered)) for values in (voltages, resistances, temperatures)
        )
    healths = tuple(map(int, map(_HEALTH, cells)))
    socs, sohs = tuple(map(_SOC, cells)), tuple(map(_SOH, cells))
    # Cells whose reading is a measurement. Not "health OK": a battery in alarm (health "error")
    # is exactly the one that must set the string's SOH, SOC and balance.
    all_valid = not any(faults)
    vpc = volts_per_cell(voltage_v, config.battery.nominal_voltage, config.battery.count)
    # One scan's class; the string master replaces it by the tracker's (hysteresis, dwell).
    battery = params_for(config.battery.nominal_voltage, config.battery.capacity_ah)
    state = classify(current_a, vpc, battery, hall_ok=scan.hall_ok, relay_closed=scan.relay_closed)
    if string_sensor_fault:
        state = ChargeState.ABNORMAL
    if all_valid:
        valid_socs, valid_sohs, valid_voltages = socs, sohs, voltages
    else:
        valid_socs = [v for v, f in zip(socs, faults) if not f]
        valid_sohs = [v for v, f in zip(sohs, faults) if not f]
        valid_voltages = [v for v, f in zip(voltages, faults) if not f]
    soc = weakest(valid_socs, default=last_soc_pct)
    soh = weakest(valid_sohs, default=0.0)
    any_cell_error = healths.count(_OK) != len(healths)
    health = (
        Health.ERROR
        if any_cell_error or string_sensor_fault or climate_fault or not scan.hall_ok or not scan.relay_closed
        else Health.OK
    )
    return StringStatus(
        string_id=config.id,
        ups_id=config.ups_id,
        index=config.index,
        scan_no=scan.scan_no,
        timestamp=scan.timestamp,
        health=health,
        voltage_v=voltage_v,
        current_a=current_a if scan.hall_ok else 0.0,
        state=state,
        soc_pct=float(soc),
        soh_pct=float(soh),
        balance_pct=round(balance_pct(valid_voltages), 2),
        ambient_c=ambient_c,
        humidity_pct=humidity,
        hall_ok=scan.hall_ok,
        relay_closed=scan.relay_closed,
        cell_health=healths,
        cell_faults=faults,
        cell_voltage_mv=voltages,
        cell_resistance_uohm=resistances,
        cell_temperature_dc=temperatures,
        cell_soc_pct=socs,
        cell_soh_pct=sohs,
    )


def cell_batch(
    scan: StringScan, n: int, capacity_soh: tuple | None = None, battery: BatteryParams | None = None
) -> CellBatch:
    """The scan's cell readings for the string's n cells (a missing cell counts as not answering);
    `capacity_soh`: what a discharge that just ended measured per cell, for the cells to keep;
    `battery`: the string's parameters, for the reference voltage under load (none without)."""
    responded = padded(scan.cell_responded, n, False)
    voltage_mv = padded(scan.cell_voltage_mv, n, 0)
    resistance_uohm = padded(scan.cell_resistance_uohm, n, 0)
    temperature_dc = padded(scan.cell_temperature_dc, n, 0)
    return CellBatch(
        scan.scan_no,
        scan.timestamp,
        scan.current_ca,
        responded,
        voltage_mv,
        resistance_uohm,
        temperature_dc,
        None if capacity_soh is None else padded(capacity_soh, n, None),
        None
        if battery is None
        else _loaded_reference(scan.current_ca, responded, voltage_mv, resistance_uohm, temperature_dc, battery),
    )


def _loaded_reference(current_ca, responded, voltage_mv, resistance_uohm, temperature_dc, battery) -> float | None:
    """The string's reference voltage under load from the cells' valid readings (those a cell
    would not flag), computed once per scan for all its cells; None unless discharging."""
    current_a = STRING_CURRENT.from_wire(current_ca)
    if not discharging(current_a, battery):
        return None
    valid = [
        mv if not reading_faults(battery.nominal_voltage, ok, mv, r, t) else None
        for ok, mv, r, t in zip(responded, voltage_mv, resistance_uohm, temperature_dc)
    ]
    return loaded_reference_vpc(current_a, valid, resistance_uohm, battery)


def padded(values: tuple, n: int, default) -> tuple:
    """`values` cut or filled with `default` to exactly n entries (the same tuple if it fits)."""
    return values[:n] if len(values) >= n else values + (default,) * (n - len(values))


def stale_status(config: StringConfig, scan_no: int, timestamp: float, last_soc_pct: float) -> StringStatus:
    """A string whose master did not answer: every value void, flagged stale."""
    n = config.battery.count
    return StringStatus(
        string_id=config.id,
        ups_id=config.ups_id,
        index=config.index,
        scan_no=scan_no,
        timestamp=timestamp,
        health=Health.STALE,
        voltage_v=0.0,
        current_a=0.0,
        state=ChargeState.ABNORMAL,
        soc_pct=last_soc_pct,
        soh_pct=0.0,
        balance_pct=0.0,
        ambient_c=None,
        humidity_pct=None,
        hall_ok=False,
        relay_closed=True,
        cell_health=(int(Health.STALE),) * n,
        cell_faults=(NO_RESPONSE,) * n,
        cell_voltage_mv=(0,) * n,
        cell_resistance_uohm=(0,) * n,
        cell_temperature_dc=(0,) * n,
        cell_soc_pct=(0,) * n,
        cell_soh_pct=(0,) * n,
    )


def _in_range(raw: int | None, q: Quantity) -> float | None:
    """The reading in `q`'s unit, or None outside its measuring range (a sensor fault, not a value)."""
    value = q.from_wire(raw)
    return value if value is not None and q.minimum <= value <= q.maximum else None
