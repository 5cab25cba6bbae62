"""Pure functions from gateway statuses to the SNMP tables' column values (None = absent).

Stale data is never served as current: a stale row's value columns are None, so GET answers
noSuchInstance and walks skip them, while the status column reads stale(3).
"""

from __future__ import annotations

from collections.abc import Iterable

from battery.alarms.records import AlarmNotice
from battery.codes import Health
from battery.plausibility import cell_answered
from battery.site import Topology
from battery.status import StringStatus, UpsStatus
from protocols.scada import snmp_oids as so
from protocols.scada.served_values import served_cell_values

BATTERY_LOW_SOC_PCT = 25.0  # upsBatteryStatus batteryLow below this state of charge
SOH_METHODS = {"none": 0, "resistance": 1, "capacity": 2}  # btmsStringSohMethod


# ------------------------------------------------------------------------------------------
# Values: pure functions from statuses to column values (None = absent).
# ------------------------------------------------------------------------------------------


_QUANTITY_OF = {c.name: c.quantity for c in so.ALL_COLUMNS if c.quantity is not None}
_CELL_TEMPERATURE = _QUANTITY_OF["btmsCellTemperature"]  # cells carry counts of 0.1 °C


def _wire(column: str, value: float | None) -> int | None:
    """A value in its quantity's unit -> the integer the column serves (its registry scale)."""
    return _QUANTITY_OF[column].to_wire(value)


def health_code(health: int, stale: bool) -> int:
    return int(Health.STALE) if stale else int(health)


def string_row(status: StringStatus | None, stale: bool) -> dict[str, int | None]:
    """The value columns of btmsStringTable (index and configuration columns excluded)."""
    s = None if stale else status
    return {
        "btmsStringStatus": health_code(status.health if status else Health.STALE, stale or status is None),
        "btmsStringVoltage": _wire("btmsStringVoltage", s.voltage_v) if s else None,
        "btmsStringCurrent": _wire("btmsStringCurrent", s.current_a) if s and s.hall_ok else None,  # no hall sensor
        "btmsStringSoc": _wire("btmsStringSoc", s.soc_pct) if s else None,
        "btmsStringSoh": _wire("btmsStringSoh", s.soh_pct) if s else None,
        "btmsStringBalance": _wire("btmsStringBalance", s.balance_pct) if s else None,
        "btmsStringState": int(s.state) if s else None,
        "btmsStringAmbientTemperature": _wire("btmsStringAmbientTemperature", s.ambient_c) if s else None,
        "btmsStringAmbientHumidity": _wire("btmsStringAmbientHumidity", s.humidity_pct) if s else None,
        "btmsStringRelayClosed": (1 if s.relay_closed else 2) if s else None,
        "btmsStringHallSensorOk": (1 if s.hall_ok else 2) if s else None,
        "btmsStringRuntime": _wire("btmsStringRuntime", s.runtime_min) if s else None,
        "btmsStringInsulationResistance": _wire("btmsStringInsulationResistance", s.insulation_kohm) if s else None,
        "btmsStringSohMethod": SOH_METHODS.get(s.soh_method, 0) if s else None,
        "btmsStringRunawayWarning": (1 if s.runaway else 2) if s else None,
        "btmsStringInsulationLow": (1 if s.insulation_low else 2) if s else None,
        "btmsStringDischargeStart": int(s.discharge_started_at or 0) if s else None,
    }


def ups_row(status: UpsStatus | None, stale: bool) -> dict[str, int | None]:
    s = None if stale else status
    return {
        "btmsUpsStatus": health_code(status.health if status else Health.STALE, stale or status is None),
        "btmsUpsVoltage": _wire("btmsUpsVoltage", s.voltage_v) if s else None,
        "btmsUpsCurrent": _wire("btmsUpsCurrent", s.current_a) if s else None,
        "btmsUpsSoc": _wire("btmsUpsSoc", s.soc_pct) if s else None,
        "btmsUpsRuntime": _wire("btmsUpsRuntime", s.runtime_min) if s else None,
    }


def ups_battery_group(
    ups: UpsStatus | None,
    stale: bool,
    strings: Iterable[StringStatus],
    on_battery_since: float | None,
    now: float,
) -> dict[str, int | None]:
    """UPS-MIB upsBattery objects of one UPS from its status and its strings' statuses.

    upsEstimatedMinutesRemaining is the UPS's runtime (battery/analytics: its shortest string's,
    from SOC, the present current and Peukert), absent unless the UPS is discharging (no load,
    no estimate); upsSecondsOnBattery counts from the start of its strings' discharge event; upsBatteryTemperature is the hottest fresh cell whose temperature is a
    measurement (a sensor fault's 300.0 °C is not: protocols/scada/served_values.py), in whole °C.
    """
    if ups is None or stale or ups.soc_pct is None or ups.voltage_v is None:
        return {c.name: (1 if c.name == "upsBatteryStatus" else None) for c in so.UPS_BATTERY}
    soc = ups.soc_pct
    battery_status = 4 if soc <= 0 else 3 if soc < BATTERY_LOW_SOC_PCT else 2
    minutes = None if ups.runtime_min is None else max(1, round(ups.runtime_min))
    temps = [t for s in strings if not s.stale for t in served_temperatures(s)]
    return {
        "upsBatteryStatus": battery_status,
        "upsSecondsOnBattery": round(now - on_battery_since) if on_battery_since is not None else 0,
        "upsEstimatedMinutesRemaining": minutes,
        "upsEstimatedChargeRemaining": min(max(round(soc), 0), 100),
        "upsBatteryVoltage": round(ups.voltage_v * 10),
        "upsBatteryCurrent": round(ups.current_a * 10) if ups.current_a is not None else None,
        "upsBatteryTemperature": round(_CELL_TEMPERATURE.from_wire(max(temps))) if temps else None,  # whole °C
    }


def served_temperatures(status: StringStatus) -> list[int]:
    """The cell temperatures (0.1 °C) of a string that are measurements: answered, plausible."""
    out = []
    for health, faults, t in zip(status.cell_health, status.cell_faults, status.cell_temperature_dc):
        if cell_answered(health, faults):
            served = served_cell_values(faults, 0, 0, t)[2]
            if served is not None:
                out.append(served)
    return out


def alarm_row(notice: AlarmNotice, topology: Topology) -> dict[str, int | str]:
    def ups_index(ups_id: str | None) -> int:
        return next((u.index for u in topology.upses if u.id == ups_id), 0)

    def string_index(string_id: str | None) -> int:
        return next((s.index for s in topology.strings if s.id == string_id), 0)

    return {
        "btmsAlarmKind": notice.kind,
        "btmsAlarmTitle": notice.title,
        "btmsAlarmUpsIndex": ups_index(notice.ups_id),
        "btmsAlarmStringIndex": string_index(notice.string_id),
        "btmsAlarmCellIndex": notice.cell_index or 0,
        "btmsAlarmValue": "" if notice.value is None else f"{notice.value:g}",
        "btmsAlarmLimit": "" if notice.limit is None else f"{notice.limit:g}",
        "btmsAlarmTime": int(notice.from_time),
        "btmsAlarmAcknowledged": 1 if notice.acknowledged_at is not None else 2,
    }
