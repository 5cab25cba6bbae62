"""ONE table of the SNMP objects the agent serves: OIDs, SMI types, units, descriptions.

The enterprise MIB shipped in `docs/mibs/BTMS-GATEWAY-MIB.txt` is generated from this table
(`python -m protocols.scada.snmp_oids > docs/mibs/BTMS-GATEWAY-MIB.txt`) and a test fails when it is
stale, so the agent and the MIB customers load into their NMS cannot disagree. The enterprise
number is 32473, the one RFC 5612 reserves for documentation, until a real one is assigned.

An object that carries a measured value takes its units, range and meaning from the registry of
quantities (battery/quantities.py, `QC(...)` below): the value is served as an integer of one
step of the quantity's resolution, UNITS names that step ("0.01 V"). No DISPLAY-HINT: it would
change what net-snmp prints for an object once the MIB is loaded ("53.25 V" instead of
"5325 0.01 V"), and an NMS that ignores hints would show the integer next to "V".

The UPS-MIB (RFC 1628) battery group is listed too (`UPS_BATTERY`): it is a standard MIB, not
ours, so it is only served, never generated; its scales are the RFC's, not the registry's.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from battery.quantities import Quantity, quantity

ENTERPRISE = (1, 3, 6, 1, 4, 1, 32473)
MODULE = ENTERPRISE + (1,)  # btmsGatewayMIB
NOTIFICATIONS = MODULE + (0,)
OBJECTS = MODULE + (1,)
CONFORMANCE = MODULE + (2,)

GATEWAY = OBJECTS + (1,)  # scalars
UPS_ENTRY = OBJECTS + (2, 1)  # btmsUpsTable.btmsUpsEntry
STRING_ENTRY = OBJECTS + (3, 1)
CELL_ENTRY = OBJECTS + (4, 1)
ALARM_ENTRY = OBJECTS + (5, 1)

ALARM_RAISED = NOTIFICATIONS + (1,)
ALARM_CLEARED = NOTIFICATIONS + (2,)

UPS_MIB_BATTERY = (1, 3, 6, 1, 2, 1, 33, 1, 2)  # upsBattery of RFC 1628
SYSTEM_GROUP = (1, 3, 6, 1, 2, 1, 1)  # system of SNMPv2-MIB (RFC 3418): sysDescr, sysObjectID, sysUpTime...
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)

HEALTH_ENUM = "disabled(0), ok(1), error(2), stale(3)"
STATE_ENUM = "floatCharge(0), equalizeCharge(1), discharge(2), idle(3), abnormal(5)"


@dataclass(frozen=True)
class Column:
    """One object: a scalar (`.0` instance) or a table column."""

    parent: tuple[int, ...]  # the entry (tables) or the scalar group
    sub: int
    name: str
    syntax: str  # "Integer32", "Unsigned32", "DisplayString", "TruthValue", or "INTEGER {...}"
    units: str  # "" when none; ASCII only (SMIv2)
    description: str
    access: str = "read-only"
    quantity: Quantity | None = None  # the registry entry a measured value is

    @property
    def oid(self) -> tuple[int, ...]:
        return self.parent + (self.sub,)

    @property
    def wire_type(self) -> str:
        """The SNMP type on the wire: Integer32 / Unsigned32 (Gauge32) / OctetString."""
        if self.syntax == "Unsigned32":
            return "Unsigned32"
        if self.syntax == "DisplayString":
            return "OctetString"
        return "Integer32"


C = Column
RO, NA = "read-only", "not-accessible"


def QC(parent: tuple[int, ...], sub: int, name: str, key: str, bounded: bool = False) -> Column:  # noqa: N802
    """A column carrying a quantity: units, range and meaning from the registry, by key.

    `bounded`: the SYNTAX carries the measuring range, for values that can never leave it (SOC,
    SOH, balance, humidity); the others are served even when a faulty sensor reads outside it.
    """
    q = quantity(key)
    low, high = q.wire_range()
    syntax = f"Integer32 ({low}..{high})" if bounded else "Integer32"
    description = f"{q.description}. Range {q.range_text(ascii_only=True)}."
    return Column(parent, sub, name, syntax, q.wire_unit(ascii_only=True), description, quantity=q)


GATEWAY_SCALARS: tuple[Column, ...] = (
    C(
        GATEWAY,
        1,
        "btmsGwStatus",
        f"INTEGER {{ {HEALTH_ENUM} }}",
        "",
        "ok(1) when every string is fresh and OK, error(2) when a string is in error or stale.",
    ),
    C(GATEWAY, 2, "btmsGwStringCount", "Integer32", "strings", "Number of battery strings configured."),
    C(GATEWAY, 3, "btmsGwUpsCount", "Integer32", "UPS", "Number of UPS systems configured."),
    C(GATEWAY, 4, "btmsGwActiveAlarms", "Unsigned32", "alarms", "Number of active alarms."),
    C(GATEWAY, 5, "btmsGwUnacknowledgedAlarms", "Unsigned32", "alarms", "Active alarms not yet acknowledged."),
    C(GATEWAY, 6, "btmsGwStaleStrings", "Unsigned32", "strings", "Strings whose data is stale (no answer)."),
    C(
        GATEWAY,
        7,
        "btmsGwLastUpdate",
        "Unsigned32",
        "seconds since 1970-01-01 UTC",
        "Time of the newest fresh string data, 0 when none yet.",
    ),
    C(
        GATEWAY,
        8,
        "btmsGwUplinkState",
        "INTEGER { notConfigured(0), down(1), waiting(2), connected(3) }",
        "",
        "Link to the aggregator (MQTT Sparkplug B): down(1) no connection or refused by the broker, "
        "waiting(2) for the primary host to be online, connected(3) records flow.",
    ),
    C(GATEWAY, 9, "btmsGwUplinkOutbox", "Unsigned32", "records", "Records waiting in the uplink's outbox."),
)

UPS_COLUMNS: tuple[Column, ...] = (
    C(UPS_ENTRY, 1, "btmsUpsIndex", "Integer32 (1..32)", "", "UPS index (the Modbus unit id of the UPS).", NA),
    C(UPS_ENTRY, 2, "btmsUpsName", "DisplayString", "", "UPS name from the topology."),
    C(
        UPS_ENTRY,
        3,
        "btmsUpsStatus",
        f"INTEGER {{ {HEALTH_ENUM} }}",
        "",
        "ok(1) all strings OK, error(2) a string in error, stale(3) no fresh data: the value objects are absent.",
    ),
    QC(UPS_ENTRY, 4, "btmsUpsVoltage", "ups.voltage"),
    QC(UPS_ENTRY, 5, "btmsUpsCurrent", "ups.current"),
    QC(UPS_ENTRY, 6, "btmsUpsSoc", "ups.soc", bounded=True),
    C(UPS_ENTRY, 7, "btmsUpsTimestamp", "Unsigned32", "seconds since 1970-01-01 UTC", "Time of the last fresh data."),
)

STRING_COLUMNS: tuple[Column, ...] = (
    C(STRING_ENTRY, 1, "btmsStringIndex", "Integer32 (1..32)", "", "String index (Modbus unit id minus 100).", NA),
    C(STRING_ENTRY, 2, "btmsStringName", "DisplayString", "", "String name from the topology."),
    C(STRING_ENTRY, 3, "btmsStringUpsIndex", "Integer32 (1..32)", "", "btmsUpsIndex of the UPS the string belongs to."),
    C(
        STRING_ENTRY,
        4,
        "btmsStringStatus",
        f"INTEGER {{ {HEALTH_ENUM} }}",
        "",
        "stale(3): the string master did not answer; the value objects of the row are then absent.",
    ),
    QC(STRING_ENTRY, 5, "btmsStringVoltage", "string.voltage"),
    QC(STRING_ENTRY, 6, "btmsStringCurrent", "string.current"),
    QC(STRING_ENTRY, 7, "btmsStringSoc", "string.soc", bounded=True),
    QC(STRING_ENTRY, 8, "btmsStringSoh", "string.soh", bounded=True),
    QC(STRING_ENTRY, 9, "btmsStringBalance", "string.balance", bounded=True),
    C(STRING_ENTRY, 10, "btmsStringState", f"INTEGER {{ {STATE_ENUM} }}", "", "Charge state."),
    QC(STRING_ENTRY, 11, "btmsStringAmbientTemperature", "string.ambient_temperature"),
    QC(STRING_ENTRY, 12, "btmsStringAmbientHumidity", "string.ambient_humidity", bounded=True),
    C(STRING_ENTRY, 13, "btmsStringRelayClosed", "TruthValue", "", "true(1): the string's breaker is closed."),
    C(STRING_ENTRY, 14, "btmsStringHallSensorOk", "TruthValue", "", "false(2): the hall sensor is disconnected."),
    C(
        STRING_ENTRY,
        15,
        "btmsStringCellCount",
        "Integer32 (0..120)",
        "cells",
        "Batteries (cell sensors) in the string.",
    ),
    C(
        STRING_ENTRY,
        16,
        "btmsStringTimestamp",
        "Unsigned32",
        "seconds since 1970-01-01 UTC",
        "Time of the last fresh scan, 0 when none yet (present even when stale).",
    ),
    C(STRING_ENTRY, 17, "btmsStringScanCounter", "Unsigned32", "scans", "Number of the last fresh scan."),
)

CELL_COLUMNS: tuple[Column, ...] = (
    C(CELL_ENTRY, 1, "btmsCellIndex", "Integer32 (1..120)", "", "Position of the battery in its string, 1 first.", NA),
    C(
        CELL_ENTRY,
        2,
        "btmsCellStatus",
        f"INTEGER {{ {HEALTH_ENUM} }}",
        "",
        "stale(3): the cell sensor did not answer; the value objects of the row are then absent.",
    ),
    QC(CELL_ENTRY, 3, "btmsCellVoltage", "cell.voltage"),
    QC(CELL_ENTRY, 4, "btmsCellResistance", "cell.resistance"),
    QC(CELL_ENTRY, 5, "btmsCellTemperature", "cell.temperature"),
    QC(CELL_ENTRY, 6, "btmsCellSoc", "cell.soc", bounded=True),
    QC(CELL_ENTRY, 7, "btmsCellSoh", "cell.soh", bounded=True),
    C(
        CELL_ENTRY,
        8,
        "btmsCellFaults",
        "Unsigned32",
        "",
        "Bit mask: 1 no response, 2 open circuit, 4 voltage implausible, 8 resistance implausible, "
        "16 temperature implausible.",
    ),
)

ALARM_COLUMNS: tuple[Column, ...] = (
    C(ALARM_ENTRY, 1, "btmsAlarmId", "Unsigned32 (1..4294967295)", "", "Alarm id, as the web UI shows it.", NA),
    C(ALARM_ENTRY, 2, "btmsAlarmKind", "DisplayString", "", "Alarm kind id, e.g. cell_voltage_high."),
    C(ALARM_ENTRY, 3, "btmsAlarmTitle", "DisplayString", "", "Alarm name as operators read it, e.g. Voltage high."),
    C(ALARM_ENTRY, 4, "btmsAlarmUpsIndex", "Integer32 (0..32)", "", "UPS index, 0 when the alarm concerns no UPS."),
    C(ALARM_ENTRY, 5, "btmsAlarmStringIndex", "Integer32 (0..32)", "", "String index, 0 when none."),
    C(ALARM_ENTRY, 6, "btmsAlarmCellIndex", "Integer32 (0..120)", "", "Cell index, 0 for string, UPS and site alarms."),
    C(
        ALARM_ENTRY,
        7,
        "btmsAlarmValue",
        "DisplayString",
        "",
        "The value that crossed the limit, as text, empty when none.",
    ),
    C(ALARM_ENTRY, 8, "btmsAlarmLimit", "DisplayString", "", "The limit it crossed, as text, empty for yes/no alarms."),
    C(ALARM_ENTRY, 9, "btmsAlarmTime", "Unsigned32", "seconds since 1970-01-01 UTC", "When the alarm was raised."),
    C(ALARM_ENTRY, 10, "btmsAlarmAcknowledged", "TruthValue", "", "true(1) once an operator acknowledged it."),
)

TABLES: tuple[tuple[str, tuple[int, ...], tuple[Column, ...], tuple[str, ...], str], ...] = (
    ("btmsUps", UPS_ENTRY, UPS_COLUMNS, ("btmsUpsIndex",), "One row per UPS system."),
    ("btmsString", STRING_ENTRY, STRING_COLUMNS, ("btmsStringIndex",), "One row per battery string."),
    (
        "btmsCell",
        CELL_ENTRY,
        CELL_COLUMNS,
        ("btmsStringIndex", "btmsCellIndex"),
        "One row per battery (cell sensor), indexed by string and position.",
    ),
    ("btmsAlarm", ALARM_ENTRY, ALARM_COLUMNS, ("btmsAlarmId",), "One row per active alarm."),
)

NOTIFICATION_OBJECTS = (
    "btmsAlarmKind",
    "btmsAlarmTitle",
    "btmsAlarmUpsIndex",
    "btmsAlarmStringIndex",
    "btmsAlarmCellIndex",
    "btmsAlarmValue",
    "btmsAlarmLimit",
    "btmsAlarmTime",
)

ALL_COLUMNS: tuple[Column, ...] = GATEWAY_SCALARS + UPS_COLUMNS + STRING_COLUMNS + CELL_COLUMNS + ALARM_COLUMNS
BY_NAME: dict[str, Column] = {c.name: c for c in ALL_COLUMNS}


def column(name: str) -> Column:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no SNMP object named {name!r} in protocols/scada/snmp_oids.py") from None


# The UPS-MIB battery group (RFC 1628), served per UPS context (see docs/snmp.md).
UPS_BATTERY: tuple[Column, ...] = (
    C(
        UPS_MIB_BATTERY,
        1,
        "upsBatteryStatus",
        "INTEGER { unknown(1), batteryNormal(2), batteryLow(3), batteryDepleted(4) }",
        "",
        "",
    ),
    C(UPS_MIB_BATTERY, 2, "upsSecondsOnBattery", "Integer32", "seconds", ""),
    C(UPS_MIB_BATTERY, 3, "upsEstimatedMinutesRemaining", "Integer32", "minutes", ""),
    C(UPS_MIB_BATTERY, 4, "upsEstimatedChargeRemaining", "Integer32", "percent", ""),
    C(UPS_MIB_BATTERY, 5, "upsBatteryVoltage", "Integer32", "0.1 Volt DC", ""),
    C(UPS_MIB_BATTERY, 6, "upsBatteryCurrent", "Integer32", "0.1 Amp DC", ""),
    C(UPS_MIB_BATTERY, 7, "upsBatteryTemperature", "Integer32", "degrees Centigrade", ""),
)


# ------------------------------------------------------------------------------------------
# The MIB text, generated.
# ------------------------------------------------------------------------------------------


def _dotted(parent: tuple[int, ...]) -> str:
    names = {
        GATEWAY: "btmsGateway",
        UPS_ENTRY: "btmsUpsEntry",
        STRING_ENTRY: "btmsStringEntry",
        CELL_ENTRY: "btmsCellEntry",
        ALARM_ENTRY: "btmsAlarmEntry",
    }
    return names[parent]


def _object(c: Column) -> list[str]:
    lines = [f"{c.name} OBJECT-TYPE", f"    SYNTAX      {c.syntax}"]
    if c.units:
        lines.append(f'    UNITS       "{c.units}"')
    unit_note = f" Units: {c.units}." if c.units else ""
    lines += [
        f"    MAX-ACCESS  {c.access}",
        "    STATUS      current",
        f'    DESCRIPTION "{c.description}{unit_note}"',
        f"    ::= {{ {_dotted(c.parent)} {c.sub} }}",
        "",
    ]
    return lines


def _entry_type(prefix: str) -> str:
    return prefix[0].upper() + prefix[1:] + "Entry"


def _syntax_in_sequence(syntax: str) -> str:
    if syntax.startswith("INTEGER"):
        return "INTEGER"
    return syntax.split(" (")[0]


def mib_text() -> str:
    out = [
        "BTMS-GATEWAY-MIB DEFINITIONS ::= BEGIN",
        "",
        "IMPORTS",
        "    MODULE-IDENTITY, OBJECT-TYPE, NOTIFICATION-TYPE,",
        "    Integer32, Unsigned32, enterprises          FROM SNMPv2-SMI",
        "    DisplayString, TruthValue                   FROM SNMPv2-TC",
        "    MODULE-COMPLIANCE, OBJECT-GROUP,",
        "    NOTIFICATION-GROUP                          FROM SNMPv2-CONF;",
        "",
        "btmsGatewayMIB MODULE-IDENTITY",
        '    LAST-UPDATED "202612020000Z"',
        '    ORGANIZATION "BTMS gateway open-source project"',
        '    CONTACT-INFO "See the project repository."',
        '    DESCRIPTION  "Battery monitoring gateway for the battery strings of UPS systems:',
        "                 UPS, string, cell (battery) and active-alarm tables, and alarm",
        "                 notifications. Enterprise 32473 is the documentation number of",
        '                 RFC 5612, used until a real one is assigned. Generated from protocols/scada/snmp_oids.py."',
        '    REVISION     "202612020000Z"',
        "    DESCRIPTION  \"UNITS, ranges and descriptions of the measured objects from the gateway's",
        "                 registry of quantities (cell voltage in 0.001 V, resistance in 0.001 mOhm,",
        '                 temperatures in 0.1 degC); no object, type or served value changed."',
        '    REVISION     "202501010000Z"',
        '    DESCRIPTION  "First version."',
        "    ::= { enterprises 32473 1 }",
        "",
        "btmsNotifications OBJECT IDENTIFIER ::= { btmsGatewayMIB 0 }",
        "btmsObjects       OBJECT IDENTIFIER ::= { btmsGatewayMIB 1 }",
        "btmsConformance   OBJECT IDENTIFIER ::= { btmsGatewayMIB 2 }",
        "btmsGateway       OBJECT IDENTIFIER ::= { btmsObjects 1 }",
        "",
    ]
    for c in GATEWAY_SCALARS:
        out += _object(c)
    for n, (prefix, _entry, columns, index, description) in enumerate(TABLES, start=2):
        entry_type = _entry_type(prefix)
        out += [
            f"{prefix}Table OBJECT-TYPE",
            f"    SYNTAX      SEQUENCE OF {entry_type}",
            "    MAX-ACCESS  not-accessible",
            "    STATUS      current",
            f'    DESCRIPTION "{description}"',
            f"    ::= {{ btmsObjects {n} }}",
            "",
            f"{prefix}Entry OBJECT-TYPE",
            f"    SYNTAX      {entry_type}",
            "    MAX-ACCESS  not-accessible",
            "    STATUS      current",
            f'    DESCRIPTION "A row of {prefix}Table."',
            f"    INDEX       {{ {', '.join(index)} }}",
            f"    ::= {{ {prefix}Table 1 }}",
            "",
            f"{entry_type} ::= SEQUENCE {{",
        ]
        seq = [f"    {c.name:<32} {_syntax_in_sequence(c.syntax)}" for c in columns]
        out += [line + ("," if i < len(seq) - 1 else "") for i, line in enumerate(seq)] + ["}", ""]
        for c in columns:
            out += _object(c)
    objects = ", ".join(NOTIFICATION_OBJECTS)
    out += [
        "btmsAlarmRaised NOTIFICATION-TYPE",
        f"    OBJECTS     {{ {objects} }}",
        "    STATUS      current",
        '    DESCRIPTION "An alarm was raised; the instance of the objects is the alarm id."',
        "    ::= { btmsNotifications 1 }",
        "",
        "btmsAlarmCleared NOTIFICATION-TYPE",
        f"    OBJECTS     {{ {objects} }}",
        "    STATUS      current",
        '    DESCRIPTION "The condition of an alarm is gone; its row leaves btmsAlarmTable."',
        "    ::= { btmsNotifications 2 }",
        "",
        "btmsGroups      OBJECT IDENTIFIER ::= { btmsConformance 1 }",
        "btmsCompliances OBJECT IDENTIFIER ::= { btmsConformance 2 }",
        "",
        "btmsObjectsGroup OBJECT-GROUP",
        "    OBJECTS {",
    ]
    readable = [c.name for c in ALL_COLUMNS if c.access != NA]
    out += [f"        {name}" + ("," if i < len(readable) - 1 else "") for i, name in enumerate(readable)]
    out += [
        "    }",
        "    STATUS      current",
        '    DESCRIPTION "Every object of the gateway."',
        "    ::= { btmsGroups 1 }",
        "",
        "btmsNotificationsGroup NOTIFICATION-GROUP",
        "    NOTIFICATIONS { btmsAlarmRaised, btmsAlarmCleared }",
        "    STATUS      current",
        '    DESCRIPTION "Alarm notifications."',
        "    ::= { btmsGroups 2 }",
        "",
        "btmsCompliance MODULE-COMPLIANCE",
        "    STATUS      current",
        '    DESCRIPTION "A BTMS gateway implements every object and notification."',
        "    MODULE",
        "        MANDATORY-GROUPS { btmsObjectsGroup, btmsNotificationsGroup }",
        "    ::= { btmsCompliances 1 }",
        "",
        "END",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(mib_text())
