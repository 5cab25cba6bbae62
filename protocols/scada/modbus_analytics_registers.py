"""The Modbus registers of the battery analytics (battery/analytics), after the published offsets.

A UPS unit, a string unit and each cell block grow at their ends; the published addresses never
move. Codes of `*_soh_method`: 0 none yet, 1 internal resistance, 2 measured capacity.
"""

from __future__ import annotations

from protocols.scada.modbus_registers import _C, _S, _U, BITS, U16, U32, Q, R, Register

SOH_METHOD_CODES = {"none": 0, "resistance": 1, "capacity": 2}
SOH_METHOD_TEXT = "0 none yet, 1 from the internal resistance, 2 from a measured capacity"
STRING_ANALYTICS_FLAGS = {"discharge_event": 0, "thermal_runaway": 1, "insulation_low": 2}

ANALYTICS_REGISTERS: tuple[Register, ...] = (
    Q(_U, 10, "ups_runtime", U16, "ups.runtime"),
    R(_U, 11, "ups_seconds_on_battery", U32, "1", "s", "Seconds since the UPS's strings began to discharge (0: not)"),
    Q(_S, 22, "string_runtime", U16, "string.runtime"),
    Q(_S, 23, "string_insulation_resistance", U16, "string.insulation_resistance"),
    R(_S, 24, "string_soh_method", U16, "-", "", f"What string_soh comes from: {SOH_METHOD_TEXT}"),
    R(_S, 25, "string_soh_time", U32, "1", "s", "UNIX seconds when string_soh was determined (0: unknown)"),
    R(
        _S,
        27,
        "string_analytics_flags",
        BITS,
        "bits",
        "",
        "b0 a discharge event is under way, b1 thermal-runaway warning, b2 insulation below its limit",
    ),
    R(_S, 28, "string_discharge_start", U32, "1", "s", "UNIX seconds when the discharge event began (0: none)"),
    R(_C, 9, "cell_balancing", U16, "-", "", "0 not balancing, 1 the cell sensor is balancing (BM-CS), 65535 unknown"),
    R(_C, 10, "cell_soh_method", U16, "-", "", f"What cell_soh comes from: {SOH_METHOD_TEXT}"),
)
