"""Which cell readings may be served as measurements: ONE rule for Modbus, SNMP and the web.

A string master flags a reading it cannot trust (actors.messages.CellFault): a sensor that did
not answer, an open circuit, a value outside the sensor's physical range (a 300.0 °C
temperature). Such a number is not a measurement; serving it would put a sensor fault into
SCADA trends and into the UPS battery temperature. Every server asks this module, so the three
protocols cannot disagree about the same cell.
"""

from __future__ import annotations

from battery.codes import CellFault

# Plain ints: IntFlag arithmetic costs ~1 µs per operation, and this runs for every cell of
# every scan (32 strings × 120 cells per second in the Modbus and SNMP servers).
_VOLTAGE_UNTRUSTED = int(CellFault.VOLTAGE_IMPLAUSIBLE | CellFault.NO_RESPONSE)
_RESISTANCE_UNTRUSTED = int(CellFault.RESISTANCE_IMPLAUSIBLE | CellFault.OPEN_CIRCUIT | CellFault.NO_RESPONSE)
_TEMPERATURE_UNTRUSTED = int(CellFault.TEMPERATURE_IMPLAUSIBLE | CellFault.NO_RESPONSE)


def served_cell_values(
    faults: int, voltage_mv: int, resistance_uohm: int, temperature_dc: int
) -> tuple[int | None, int | None, int | None]:
    """(voltage mV, resistance µΩ, temperature 0.1 °C) as they may be served; None = not available.

    Voltage: not with VOLTAGE_IMPLAUSIBLE or NO_RESPONSE. Resistance: not with
    RESISTANCE_IMPLAUSIBLE, OPEN_CIRCUIT (no current path, nothing measured) or NO_RESPONSE.
    Temperature: not with TEMPERATURE_IMPLAUSIBLE or NO_RESPONSE.
    """
    return (
        None if faults & _VOLTAGE_UNTRUSTED else voltage_mv,
        None if faults & _RESISTANCE_UNTRUSTED else resistance_uohm,
        None if faults & _TEMPERATURE_UNTRUSTED else temperature_dc,
    )
