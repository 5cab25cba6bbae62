"""Codes shared by every layer. Their integer values are the ones of the published Modbus map; keep them."""

from __future__ import annotations

from enum import IntEnum, IntFlag


class Health(IntEnum):
    """Status of a cell, string or UPS as SCADA reads it."""

    DISABLED = 0
    OK = 1
    ERROR = 2
    STALE = 3  # no fresh data: the device did not answer (never served as current)


class ChargeState(IntEnum):
    FLOAT = 0
    EQUALIZE = 1
    DISCHARGE = 2
    IDLE = 3
    ABNORMAL = 5


class CellFault(IntFlag):
    """Why a cell's reading cannot be trusted or what is physically wrong with it."""

    NONE = 0
    NO_RESPONSE = 1  # the cell sensor did not answer this scan
    OPEN_CIRCUIT = 2  # voltage near zero: a broken connection or an open cell
    VOLTAGE_IMPLAUSIBLE = 4  # outside the sensor's physical range
    RESISTANCE_IMPLAUSIBLE = 8
    TEMPERATURE_IMPLAUSIBLE = 16  # e.g. a sensor reporting 300.0 °C
