"""How the gateway's site maps onto Sparkplug B devices and metric names (docs/uplink.md).

- The edge node is the gateway. Its own metrics (NBIRTH/NDATA) are the Sparkplug controls
  (`bdSeq`, `Node Control/Rebirth`), the gateway's status (`gateway/...`), the link's own state
  (`uplink/...`), and the event channels `event/alarm` and `event/discharge` (JSON text).
- Each UPS is a device named by its id (`UPS-A`); each string is a device named
  `<ups id>:<string id>` (`UPS-A:A1`). ':' never occurs in a topology id, so the two kinds cannot
  collide and a reader splits a string's device id at the ':'.
- A measured value's metric name is its key in the registry of quantities
  (battery/quantities.py): `ups.voltage`, `string.current`. A cell's value is the key and the
  cell's number: `cell.voltage/17` (a folder per quantity in Sparkplug hosts that show "/" as
  folders). Values are Doubles in the registry's unit, rounded to its resolution; a value that
  is not available (a cell that did not answer, an implausible reading) is sent as is_null.
- Codes are strings: `string.state` (FLOAT, EQUALIZE, DISCHARGE, IDLE, ABNORMAL) and `*.health`
  (OK, ERROR, STALE, DISABLED), so a reader needs no table of numbers.
- Births carry every metric of the device, each with the property `engUnit` (the unit).
"""

from __future__ import annotations

from battery.codes import ChargeState, Health
from battery.plausibility import cell_answered, measured_cell_values
from battery.quantities import Level, Quantity, of_level, quantity
from battery.site import StringConfig
from battery.status import StringStatus, UpsStatus
from protocols.uplink.payload import DataType, Metric

STRING_SEPARATOR = ":"
CELL_SEPARATOR = "/"

ALARM_METRIC = "event/alarm"
DISCHARGE_METRIC = "event/discharge"
STRING_STATE_METRIC = "string.state"
STRING_HEALTH_METRIC = "string.health"
UPS_HEALTH_METRIC = "ups.health"
CELL_HEALTH_KEY = "cell.health"

_CELL = {q.key: q for q in of_level(Level.CELL)}
_CELL_VOLTAGE, _CELL_RESISTANCE, _CELL_TEMPERATURE = (
    quantity("cell.voltage"),
    quantity("cell.resistance"),
    quantity("cell.temperature"),
)
_CELL_SOC, _CELL_SOH = quantity("cell.soc"), quantity("cell.soh")


def ups_device_id(ups_id: str) -> str:
    return ups_id


def string_device_id(ups_id: str, string_id: str) -> str:
    return f"{ups_id}{STRING_SEPARATOR}{string_id}"


def cell_metric_name(key: str, cell_number: int) -> str:
    """`cell.voltage/17`: a cell quantity's key and the cell's number (1 first)."""
    return f"{key}{CELL_SEPARATOR}{cell_number}"


def _value(q: Quantity, value: float | None, time_ms: int) -> Metric:
    return Metric(q.key, DataType.DOUBLE, q.rounded(value), time_ms)


def _unit(metric: Metric, q: Quantity | None) -> Metric:
    if q is None:
        return metric
    return Metric(metric.name, metric.datatype, metric.value, metric.timestamp_ms, properties=(("engUnit", q.unit),))


# -- UPS ---------------------------------------------------------------------------------------


def ups_metrics(status: UpsStatus) -> tuple[Metric, ...]:
    t = to_ms(status.timestamp)
    return (
        _value(quantity("ups.voltage"), status.voltage_v, t),
        _value(quantity("ups.current"), status.current_a, t),
        _value(quantity("ups.soc"), status.soc_pct, t),
        Metric(UPS_HEALTH_METRIC, DataType.STRING, Health(status.health).name, t),
    )


def ups_birth_metrics(status: UpsStatus | None, time_ms: int) -> tuple[Metric, ...]:
    if status is None:
        quantities = [Metric(q.key, DataType.DOUBLE, None, time_ms) for q in of_level(Level.UPS)]
        known = (*quantities, Metric(UPS_HEALTH_METRIC, DataType.STRING, None, time_ms))
    else:
        known = ups_metrics(status)
    return tuple(_unit(m, _quantity_or_none(m.name)) for m in known)


# -- string ------------------------------------------------------------------------------------


def string_metrics(status: StringStatus) -> tuple[Metric, ...]:
    """The string's own values (not its cells'), all of them."""
    t = to_ms(status.timestamp)
    stale = status.stale
    values: list[Metric] = [
        _value(quantity("string.voltage"), None if stale else status.voltage_v, t),
        _value(quantity("string.current"), None if stale else status.current_a, t),
        _value(quantity("string.soc"), None if stale else status.soc_pct, t),
        _value(quantity("string.soh"), None if stale else status.soh_pct, t),
        _value(quantity("string.balance"), None if stale else status.balance_pct, t),
        _value(quantity("string.ambient_temperature"), None if stale else status.ambient_c, t),
        _value(quantity("string.ambient_humidity"), None if stale else status.humidity_pct, t),
        Metric(STRING_STATE_METRIC, DataType.STRING, None if stale else ChargeState(status.state).name, t),
        Metric(STRING_HEALTH_METRIC, DataType.STRING, Health(status.health).name, t),
    ]
    return tuple(values)


def cell_values(status: StringStatus) -> dict[str, float | str | None]:
    """Every cell metric of a string's status by name (None: not available)."""
    out: dict[str, float | str | None] = {}
    for i in range(len(status.cell_voltage_mv)):
        n = i + 1
        health, faults = status.cell_health[i], status.cell_faults[i]
        answered = cell_answered(health, faults)
        voltage, resistance, temperature = (
            measured_cell_values(
                faults, status.cell_voltage_mv[i], status.cell_resistance_uohm[i], status.cell_temperature_dc[i]
            )
            if answered
            else (None, None, None)
        )
        out[cell_metric_name(_CELL_VOLTAGE.key, n)] = _CELL_VOLTAGE.from_wire(voltage)
        out[cell_metric_name(_CELL_RESISTANCE.key, n)] = _CELL_RESISTANCE.from_wire(resistance)
        out[cell_metric_name(_CELL_TEMPERATURE.key, n)] = _CELL_TEMPERATURE.from_wire(temperature)
        out[cell_metric_name(_CELL_SOC.key, n)] = float(status.cell_soc_pct[i]) if answered else None
        out[cell_metric_name(_CELL_SOH.key, n)] = float(status.cell_soh_pct[i]) if answered else None
        out[cell_metric_name(CELL_HEALTH_KEY, n)] = Health(health).name
    return out


def cell_metric(name: str, value: float | str | None, time_ms: int) -> Metric:
    datatype = DataType.STRING if name.startswith(CELL_HEALTH_KEY + CELL_SEPARATOR) else DataType.DOUBLE
    return Metric(name, datatype, value, time_ms)


def string_birth_metrics(config: StringConfig, status: StringStatus | None, time_ms: int) -> tuple[Metric, ...]:
    """Every metric of a string device, with the latest values (null before the first status)."""
    if status is None:
        own = [Metric(q.key, DataType.DOUBLE, None, time_ms) for q in of_level(Level.STRING)]
        own += [Metric(n, DataType.STRING, None, time_ms) for n in (STRING_STATE_METRIC, STRING_HEALTH_METRIC)]
        cells = [
            cell_metric(cell_metric_name(key, n), None, time_ms)
            for n in range(1, config.battery.count + 1)
            for key in (*_CELL, CELL_HEALTH_KEY)
        ]
    else:
        t = to_ms(status.timestamp)
        own = list(string_metrics(status))
        cells = [cell_metric(name, value, t) for name, value in cell_values(status).items()]
    return tuple(_unit(m, _quantity_or_none(m.name)) for m in (*own, *cells))


def _quantity_or_none(name: str | None) -> Quantity | None:
    if name is None:
        return None
    key = name.split(CELL_SEPARATOR, 1)[0]
    try:
        return quantity(key)
    except KeyError:
        return None


def to_ms(unix_seconds: float) -> int:
    return round(unix_seconds * 1000)
