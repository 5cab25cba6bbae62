"""Which cell readings may be served as measurements: ONE rule for Modbus, SNMP and the web.

A string master flags a reading it cannot trust (actors.messages.CellFault): a sensor that did
not answer, an open circuit, a value outside the sensor's physical range (a 300.0 °C
temperature). Such a number is not a measurement; serving it would put a sensor fault into
SCADA trends and into the UPS battery temperature. Every server asks this module, so the three
protocols cannot disagree about the same cell; and the rule is the alarm evaluator's own
(battery.plausibility.measured_cell_values), so no alarm carries a value served as null.
"""

from __future__ import annotations

from battery.plausibility import measured_cell_values

# (voltage mV, resistance µΩ, temperature 0.1 °C) as they may be served; None = not available.
# The same function, not a wrapper: it runs for every cell of every scan in each server.
served_cell_values = measured_cell_values
