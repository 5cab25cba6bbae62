"""What the gateway knows of the runtime settings in settings.db, and what changed since.

The alarm limits an administrator sets at run time (string settings page, `btms limits`) are
stored as overrides (storage/limit_overrides.py). The gateway reads them at start, so a
(re)created UPS hands its string masters the effective limits, and again whenever the settings
version moves. It polls that version rather than being told by the CLI: the CLI works on a
headless install with the web server off and with no gateway running, and needs no way into
the actor system; one small SELECT every few seconds costs nothing. The web server also sends
SettingsChanged after a change, so the browser does not wait for the poll.

A stored override that no longer fits the topology (topology.yaml was edited since) is not
applied: the string keeps topology.yaml's limits and the error is logged.

The SNMP settings (storage/snmp_settings.py) are read the same way: when the effective ones
change, the SNMP agent gets them (SetSnmpConfig) and applies them without a restart. Stored SNMP
settings that break a rule (or whose credentials secrets.json lost) are not applied either:
topology.yaml's services.snmp applies and the error is logged, without any value.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from actors.messages.down import SetAlarmLimits, SetSnmpConfig
from battery.alarms.runtime_limits import Overrides, with_runtime_overrides
from battery.site import SnmpConfig, Topology, UpsConfig
from observability.log import get_logger
from storage.limit_overrides import read_overrides
from storage.snmp_settings import current_snmp

POLL_PERIOD_S = 2.0

log = get_logger("btms.gateway")


class RuntimeSettings:
    def __init__(self, topology: Topology, settings_db: Path) -> None:
        self.topology = topology
        self.settings_db = settings_db
        self.version: int | None = None  # None: never read
        self.effective: dict[str, Overrides] = {s.id: tuple(sorted(s.alarm_overrides)) for s in topology.strings}
        self.snmp: SnmpConfig = topology.services.snmp

    def snmp_topology(self) -> Topology:
        """The topology with the effective SNMP settings, for the SNMP agent's Init."""
        return replace(self.topology, services=replace(self.topology.services, snmp=self.snmp))

    def ups_config(self, ups: UpsConfig) -> UpsConfig:
        """The UPS with its strings' effective limits, for its Init."""
        return replace(ups, strings=tuple(replace(s, alarm_overrides=self.effective[s.id]) for s in ups.strings))

    def poll(self) -> tuple[list[SetAlarmLimits | SetSnmpConfig], bool]:
        """(a SetAlarmLimits per string whose limits changed and a SetSnmpConfig if the SNMP
        settings did, whether the settings version moved).

        A settings.db that cannot be read now (locked, damaged) changes nothing: read again later."""
        try:
            version, stored = read_overrides(self.settings_db)
        except (sqlite3.Error, OSError) as error:
            log.warning("runtime settings not read; trying again later", error=f"{type(error).__name__}: {error}")
            return [], False
        if version == self.version:
            return [], False
        first = self.version is None
        self.version = version
        changes = []
        for string in self.topology.strings:
            effective = self._effective(string, stored.get(string.id, {}))
            if effective != self.effective[string.id]:
                self.effective[string.id] = effective
                changes.append(SetAlarmLimits(string.id, effective))
                log.info("alarm limits changed at run time", string=string.id, overrides=dict(effective))
        snmp = self._effective_snmp()
        if snmp != self.snmp:
            self.snmp = snmp
            if not first:
                changes.append(SetSnmpConfig(snmp))
        return changes, not first

    def _effective_snmp(self) -> SnmpConfig:
        base = self.topology.services.snmp
        if not base.enabled:
            return base
        try:
            return current_snmp(self.topology.storage_dir(), base)[1]
        except ValueError as error:  # the message names keys and rules, never a value
            log.error("stored SNMP settings not applied: topology.yaml's apply", error=str(error))
        except (sqlite3.Error, OSError) as error:
            log.warning("SNMP settings not read; trying again later", error=f"{type(error).__name__}: {error}")
            return self.snmp
        return base

    def _effective(self, string, stored: dict[str, float]) -> Overrides:
        try:
            return with_runtime_overrides(string, stored.items()).alarm_overrides
        except ValueError as error:
            log.error("stored alarm limits not applied: topology.yaml's apply", string=string.id, error=str(error))
            return tuple(sorted(string.alarm_overrides))
