"""Commands an operator or a SCADA client gives the site (switch a string, acknowledge an alarm).

Defined in the domain because every interface that takes them (web, Modbus TCP) builds them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SetStringRelay:
    """Open (disconnect) or close a string's breaker through its BM-LC output."""

    string_id: str
    closed: bool
    reason: str


@dataclass(frozen=True)
class AcknowledgeAlarm:
    """Operator (web, Modbus, SNMP) -> gateway -> alarm manager."""

    alarm_id: int
    who: str
