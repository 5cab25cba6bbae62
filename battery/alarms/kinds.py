"""What can be alarmed, with the names operators read in the manual's alarm tables (seed 004).

The stored value of a kind is its stable id (`cell_voltage_high`); the operator-visible title
("Voltage high") is the manual's wording. Cell and string alarms share titles in the manual:
the "Cell" column of the alarm table tells them apart, so the titles stay as printed.
"""

from __future__ import annotations

from enum import Enum


class AlarmLevel(str, Enum):
    """Where an alarm sits in the device tree (which columns of the alarm table it fills)."""

    SITE = "site"
    UPS = "ups"
    STRING = "string"
    CELL = "cell"


class AlarmKind(str, Enum):
    """Every alarm the gateway raises. A `str` enum: messages carry it as its plain value."""

    # Cell limits (evaluated by the CellSensor actors).
    CELL_VOLTAGE_HIGH = "cell_voltage_high"
    CELL_VOLTAGE_LOW = "cell_voltage_low"
    CELL_RESISTANCE_HIGH = "cell_resistance_high"
    CELL_TEMPERATURE_HIGH = "cell_temperature_high"
    CELL_SOC_LOW = "cell_soc_low"
    CELL_SOH_LOW = "cell_soh_low"
    # String limits (evaluated by the StringMaster).
    STRING_VOLTAGE_HIGH = "string_voltage_high"
    STRING_VOLTAGE_LOW = "string_voltage_low"
    STRING_CURRENT_HIGH = "string_current_high"  # charging current above its limit
    STRING_CURRENT_LOW = "string_current_low"  # discharging: current below its (negative) limit
    STRING_SOC_LOW = "string_soc_low"
    HALL_SENSOR = "hall_sensor"  # the hall sensor is disconnected or reports a fault
    STRING_SWITCHED_OFF = "string_switched_off"  # the string's breaker is open
    # Device health, at cell or string level.
    COMMUNICATION_LOST = "communication_lost"  # a device stopped answering
    SENSOR_FAULT = "sensor_fault"  # a device answers with an implausible value
    # A BM-LC digital input named by the topology (leakage, fire, ...); `detail` holds its name.
    DIGITAL_INPUT = "digital_input"
    # The history database's disk fell under its free-space floor (oldest data is being deleted).
    STORAGE_SPACE_LOW = "storage_space_low"
    # The BM-LC did not carry out a string's switch-off (the master controller keeps retrying).
    SWITCH_OFF_FAILED = "switch_off_failed"
    # The uplink's outbox reached its size and dropped records the aggregator will never get.
    UPLINK_BUFFER_OVERFLOW = "uplink_buffer_overflow"

    @property
    def title(self) -> str:
        return _TITLES[self]

    @property
    def setting_label(self) -> str:
        """The row label of the manual's per-string alarm-settings matrix (SMS / e-mail)."""
        return _SETTING_LABELS[self]

    @property
    def is_cell_limit(self) -> bool:
        return self in CELL_LIMIT_KINDS

    @property
    def is_string_limit(self) -> bool:
        return self in STRING_LIMIT_KINDS


_TITLES: dict[AlarmKind, str] = {
    AlarmKind.CELL_VOLTAGE_HIGH: "Voltage high",
    AlarmKind.CELL_VOLTAGE_LOW: "Voltage low",
    AlarmKind.CELL_RESISTANCE_HIGH: "Resistance high",
    AlarmKind.CELL_TEMPERATURE_HIGH: "Temperature high",
    AlarmKind.CELL_SOC_LOW: "SOC low",
    AlarmKind.CELL_SOH_LOW: "SOH low",
    AlarmKind.STRING_VOLTAGE_HIGH: "Voltage high",
    AlarmKind.STRING_VOLTAGE_LOW: "Voltage low",
    AlarmKind.STRING_CURRENT_HIGH: "Current high (charging)",
    AlarmKind.STRING_CURRENT_LOW: "Current low (discharging)",
    AlarmKind.STRING_SOC_LOW: "SOC low",
    AlarmKind.HALL_SENSOR: "Hall sensor disconnected",
    AlarmKind.STRING_SWITCHED_OFF: "String switched off",
    AlarmKind.COMMUNICATION_LOST: "Communication lost",
    AlarmKind.SENSOR_FAULT: "Sensor fault",
    AlarmKind.DIGITAL_INPUT: "Digital input",
    AlarmKind.STORAGE_SPACE_LOW: "Storage space low",
    AlarmKind.SWITCH_OFF_FAILED: "Switch-off failed",
    AlarmKind.UPLINK_BUFFER_OVERFLOW: "Uplink buffer overflow",
}

_SETTING_LABELS: dict[AlarmKind, str] = {
    AlarmKind.STRING_CURRENT_HIGH: "String current charge limit",
    AlarmKind.STRING_CURRENT_LOW: "String current discharge limit",
    AlarmKind.STRING_VOLTAGE_HIGH: "String voltage high limit",
    AlarmKind.STRING_VOLTAGE_LOW: "String voltage low limit",
    AlarmKind.STRING_SOC_LOW: "String SoC low limit",
    AlarmKind.HALL_SENSOR: "Hall alarm enable",
    AlarmKind.CELL_VOLTAGE_HIGH: "Cell voltage high limit",
    AlarmKind.CELL_VOLTAGE_LOW: "Cell voltage low limit",
    AlarmKind.CELL_RESISTANCE_HIGH: "Cell resistance high limit",
    AlarmKind.CELL_SOC_LOW: "Cell SoC low limit",
    AlarmKind.CELL_SOH_LOW: "Cell SoH low limit",
    AlarmKind.CELL_TEMPERATURE_HIGH: "Cell temperature high limit",
    AlarmKind.STRING_SWITCHED_OFF: "String switched off",
    AlarmKind.COMMUNICATION_LOST: "Communication lost",
    AlarmKind.SENSOR_FAULT: "Sensor fault",
    AlarmKind.DIGITAL_INPUT: "Digital inputs (leakage, fire, ...)",
    AlarmKind.STORAGE_SPACE_LOW: "Storage space low",
    AlarmKind.SWITCH_OFF_FAILED: "Switch-off failed",
    AlarmKind.UPLINK_BUFFER_OVERFLOW: "Uplink buffer overflow",
}

CELL_LIMIT_KINDS = frozenset(
    {
        AlarmKind.CELL_VOLTAGE_HIGH,
        AlarmKind.CELL_VOLTAGE_LOW,
        AlarmKind.CELL_RESISTANCE_HIGH,
        AlarmKind.CELL_TEMPERATURE_HIGH,
        AlarmKind.CELL_SOC_LOW,
        AlarmKind.CELL_SOH_LOW,
    }
)
STRING_LIMIT_KINDS = frozenset(
    {
        AlarmKind.STRING_VOLTAGE_HIGH,
        AlarmKind.STRING_VOLTAGE_LOW,
        AlarmKind.STRING_CURRENT_HIGH,
        AlarmKind.STRING_CURRENT_LOW,
        AlarmKind.STRING_SOC_LOW,
    }
)

# Cell alarms that switch their string off through its BM-LC "disconnect" output by default
# (issue 5): a cell over- or under-voltage or over-temperature is a fire or damage risk.
DEFAULT_SWITCH_OFF_KINDS = frozenset(
    {AlarmKind.CELL_VOLTAGE_HIGH, AlarmKind.CELL_VOLTAGE_LOW, AlarmKind.CELL_TEMPERATURE_HIGH}
)


def alarm_title(kind: str, detail: str = "") -> str:
    """The text of the table's "Alarm" column; a digital input shows the name the topology gave it."""
    k = AlarmKind(kind)
    if k is AlarmKind.DIGITAL_INPUT and detail:
        return detail[:1].upper() + detail[1:]
    if k is AlarmKind.COMMUNICATION_LOST and detail:  # a device without UPS/string/cell columns (BM-LC)
        return f"{k.title}: {detail}"
    return k.title
