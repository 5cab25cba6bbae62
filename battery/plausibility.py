"""Is a cell sensor's reading physically possible, and which of its values are measurements? Pure.

A value outside what the BM-CS can measure is not a battery condition but a sensor or wiring
fault: the manuals show a sensor reporting 300.0 °C. Such a value must never raise a
"temperature high" alarm nor be averaged into a string; it is flagged instead.
Ranges are the BM-CS measuring ranges of seed 000/002: resistance and temperature are the
registry's (battery/quantities.py), the voltage range is narrowed by battery type.

`measured_cell_values` is THE rule that turns the fault bits into "this value is a
measurement / is not": the alarm evaluator compares only what it returns, and every server
(web, Modbus, SNMP) serves only what it returns, so an alarm never carries a number the
operator sees as null.
"""

from __future__ import annotations

from battery.codes import CellFault, Health
from battery.quantities import quantity

# Measuring range of the cell voltage, mV, by nominal battery voltage (seed 000, 002); each lies
# inside the registry's cell.voltage range (tests/battery/test_quantities.py).
VOLTAGE_RANGE_MV = {2: (1600, 2600), 6: (4800, 10000), 12: (7500, 15600)}
RESISTANCE_RANGE_UOHM = quantity("cell.resistance").wire_range()  # 0.1 .. 50 mΩ in µΩ
TEMPERATURE_RANGE_DC = quantity("cell.temperature").wire_range()  # -20 .. +85 °C in 0.1 °C

# Below this fraction of the lower voltage limit the sensor sees no battery: open cell or lead.
OPEN_CIRCUIT_FRACTION = 0.5
# Above this factor of the upper limit no lead-acid battery can be: a sensor fault.
IMPLAUSIBLE_HIGH_FACTOR = 1.1

# Plain int bits of CellFault: this runs 3,840 times a second, and enum flag arithmetic costs
# about a microsecond per operation where int arithmetic costs a few tens of nanoseconds.
# Plain ints: IntFlag's operators are slow, and these are tested per cell per scan.
NO_RESPONSE = int(CellFault.NO_RESPONSE)
_OPEN_CIRCUIT = int(CellFault.OPEN_CIRCUIT)
_VOLTAGE_IMPLAUSIBLE = int(CellFault.VOLTAGE_IMPLAUSIBLE)
_RESISTANCE_IMPLAUSIBLE = int(CellFault.RESISTANCE_IMPLAUSIBLE)
_TEMPERATURE_IMPLAUSIBLE = int(CellFault.TEMPERATURE_IMPLAUSIBLE)
_STALE = int(Health.STALE)


# What makes each value not a measurement. An open circuit leaves the voltage a real reading
# (~0 V: "Voltage low"), but no current flows, so the resistance (the sensor's over-range
# 65535) was not measured.
_VOLTAGE_NOT_MEASURED = NO_RESPONSE | _VOLTAGE_IMPLAUSIBLE
_RESISTANCE_NOT_MEASURED = NO_RESPONSE | _RESISTANCE_IMPLAUSIBLE | _OPEN_CIRCUIT
_TEMPERATURE_NOT_MEASURED = NO_RESPONSE | _TEMPERATURE_IMPLAUSIBLE


def measured_cell_values(
    faults: int, voltage_mv: int | None, resistance_uohm: int | None, temperature_dc: int | None
) -> tuple[int | None, int | None, int | None]:
    """(voltage mV, resistance µΩ, temperature 0.1 °C), each None when `faults` says it is not a measurement.

    Voltage: not with VOLTAGE_IMPLAUSIBLE or NO_RESPONSE. Resistance: not with
    RESISTANCE_IMPLAUSIBLE, OPEN_CIRCUIT (no current path, nothing measured) or NO_RESPONSE.
    Temperature: not with TEMPERATURE_IMPLAUSIBLE or NO_RESPONSE.
    """
    return (
        None if faults & _VOLTAGE_NOT_MEASURED else voltage_mv,
        None if faults & _RESISTANCE_NOT_MEASURED else resistance_uohm,
        None if faults & _TEMPERATURE_NOT_MEASURED else temperature_dc,
    )


def reading_faults(
    nominal_voltage: int,
    responded: bool,
    voltage_mv: int,
    resistance_uohm: int,
    temperature_dc: int,
) -> int:
    """Every reason this reading cannot be taken as a measurement of a healthy connection.

    Returns the CellFault bits as a plain int (CellFault(value) names them).
    """
    if not responded:
        return NO_RESPONSE
    faults = 0
    v_low, v_high = VOLTAGE_RANGE_MV[nominal_voltage]
    if voltage_mv < v_low * OPEN_CIRCUIT_FRACTION:
        faults = _OPEN_CIRCUIT
    elif voltage_mv > v_high * IMPLAUSIBLE_HIGH_FACTOR:
        faults = _VOLTAGE_IMPLAUSIBLE
    r_low, r_high = RESISTANCE_RANGE_UOHM
    if not r_low <= resistance_uohm <= r_high and not faults & _OPEN_CIRCUIT:
        faults |= _RESISTANCE_IMPLAUSIBLE
    t_low, t_high = TEMPERATURE_RANGE_DC
    if not t_low <= temperature_dc <= t_high:
        faults |= _TEMPERATURE_IMPLAUSIBLE
    return faults


def health_of(faults: int) -> Health:
    if faults & NO_RESPONSE:
        return Health.STALE
    if faults:
        return Health.ERROR
    return Health.OK


def cell_answered(health: int, faults: int) -> bool:
    """Did this cell's sensor answer the scan: ONE test for every reader of a cell.

    A cell that did not answer has no readings, whatever numbers its message carries: Modbus
    serves it as "not available", SNMP and the JSON API as stale, the history as absent.
    Plain ints in, as a StringStatus and a stored scan carry them.
    """
    return health != _STALE and not faults & NO_RESPONSE
