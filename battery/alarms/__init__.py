"""Alarm rules, lifecycle and storage, pure where they can be (no Thespian in this package).

docs/alarms.md describes the limits, the override names and the lifecycle.
"""

from battery.alarms.evaluator import (
    CELL_ALARMS_CLEAR,
    INACTIVE,
    STRING_ALARMS_CLEAR,
    AlarmTransition,
    CellAlarmState,
    LimitState,
    StringAlarmState,
    evaluate,
    evaluate_cell,
    evaluate_digital_input,
    evaluate_flag,
    evaluate_string,
)
from battery.alarms.events import to_alarm_message
from battery.alarms.kinds import (
    DEFAULT_SWITCH_OFF_KINDS,
    AlarmKind,
    AlarmLevel,
    alarm_title,
)
from battery.alarms.limits import (
    OVERRIDABLE_LIMITS,
    CellLimits,
    Direction,
    Limit,
    StringLimits,
    cell_limits_for,
    cell_limits_for_string,
    string_limits_for,
    validate_overrides,
)

__all__ = [
    "AlarmKind",
    "AlarmLevel",
    "AlarmTransition",
    "CELL_ALARMS_CLEAR",
    "CellAlarmState",
    "CellLimits",
    "DEFAULT_SWITCH_OFF_KINDS",
    "Direction",
    "INACTIVE",
    "Limit",
    "LimitState",
    "OVERRIDABLE_LIMITS",
    "STRING_ALARMS_CLEAR",
    "StringAlarmState",
    "StringLimits",
    "alarm_title",
    "cell_limits_for",
    "cell_limits_for_string",
    "evaluate",
    "evaluate_cell",
    "evaluate_digital_input",
    "evaluate_flag",
    "evaluate_string",
    "string_limits_for",
    "to_alarm_message",
    "validate_overrides",
]
