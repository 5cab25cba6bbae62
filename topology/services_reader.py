"""Reading the `services` and `storage` sections: listeners, TLS, Modbus writes, SNMP communities and users."""

from __future__ import annotations

import ipaddress

from battery.site import (
    ModbusTcpConfig,
    ServicesConfig,
    SnmpConfig,
    SnmpV3UserConfig,
    StorageConfig,
    WebConfig,
)
from topology.problems import quoted
from topology.rules import (
    ID_RULES,
    MAX_MODBUS_CONNECTIONS,
    MODBUS_KEYS,
    SNMP_KEYS,
    SNMP_V3_MIN_KEY,
    SNMP_V3_USER_KEYS,
    UPLINK_KEYS,
    WEB_KEYS,
    WELL_KNOWN_COMMUNITIES,
    _host_port,
    _is_host,
)
from topology.schema import Section
from topology.uplink_reader import UplinkReader


class ServicesReader(UplinkReader):
    """The services sections of `_TopologyReader` (topology/loader.py): one mixin, one job."""

    def _services(self, s: Section) -> ServicesConfig:
        self.listener_sections["web"] = s.section("web", WEB_KEYS)
        self.listener_sections["modbus"] = s.section("modbus", MODBUS_KEYS)
        return ServicesConfig(
            web=self._web(self.listener_sections["web"]),
            modbus=self._modbus(self.listener_sections["modbus"]),
            snmp=self._snmp(s.section("snmp", SNMP_KEYS)),
            uplink=self._uplink(s.section("uplink", UPLINK_KEYS)) if s.has("uplink") else None,
        )

    def _host(self, s: Section) -> str | None:
        host = s.text("host", "127.0.0.1")
        if host is not None and not _is_host(host):
            s.problem("host", f"{quoted(host)} is neither an IP address nor a host name")
            return None
        return host

    def _web(self, s: Section) -> WebConfig:
        web = WebConfig(
            enabled=s.boolean("enabled", True),  # type: ignore[arg-type]
            host=self._host(s),  # type: ignore[arg-type]
            port=s.integer("port", 8080, lo=1, hi=65535),  # type: ignore[arg-type]
            tls_cert=s.text("tls_cert", None),
            tls_key=s.text("tls_key", None),
            metrics_cells=s.boolean("metrics_cells", False),  # type: ignore[arg-type]
        )
        if s.has("tls_cert") != s.has("tls_key"):
            given, missing = ("tls_cert", "tls_key") if s.has("tls_cert") else ("tls_key", "tls_cert")
            s.problem(given, f"HTTPS needs both tls_cert and tls_key; {missing} is missing")
        return web

    def _modbus(self, s: Section) -> ModbusTcpConfig:
        clients = []
        for text, line in s.text_list("write_clients"):
            try:
                clients.append(str(ipaddress.ip_address(text)))
            except ValueError:
                self.log.add(
                    line,
                    f"{s.path}.write_clients: {quoted(text)} is not an IP address "
                    "(writes are allowed per client address, not per host name)",
                )
        modbus = ModbusTcpConfig(
            enabled=s.boolean("enabled", True),  # type: ignore[arg-type]
            host=self._host(s),  # type: ignore[arg-type]
            port=s.integer("port", 5020, lo=1, hi=65535),  # type: ignore[arg-type]
            write_enabled=s.boolean("write_enabled", False),  # type: ignore[arg-type]
            write_clients=tuple(clients),
            max_connections=s.integer(  # type: ignore[arg-type]
                "max_connections",
                32,
                lo=1,
                hi=MAX_MODBUS_CONNECTIONS,
                too_high=f"{MAX_MODBUS_CONNECTIONS}, the most the server holds open (each uses a file descriptor)",
            ),
            idle_timeout_s=s.number("idle_timeout_s", 60.0, ge=1.0, le=86_400.0, unit="s"),  # type: ignore[arg-type]
        )
        if modbus.write_enabled and not s.has("write_clients"):
            s.problem(
                "write_enabled",
                "writes are enabled but write_clients is empty, so no client could write; "
                "list the SCADA's IP addresses in write_clients",
            )
        return modbus

    def _snmp(self, s: Section) -> SnmpConfig:
        receivers = []
        for text, line in s.text_list("trap_receivers"):
            if _host_port(text) is None:
                self.log.add(line, f"{s.path}.trap_receivers: {quoted(text)} is not HOST:PORT")
            else:
                receivers.append(text)
        users = []
        for path, node in s.items("v3_users"):
            u = Section(self.log, node, path, SNMP_V3_USER_KEYS)
            user = SnmpV3UserConfig(
                name=u.text("name", **ID_RULES),  # type: ignore[arg-type]
                auth_key=u.text("auth_key"),  # type: ignore[arg-type]
                priv_key=u.text("priv_key"),  # type: ignore[arg-type]
            )
            for key in ("auth_key", "priv_key"):
                secret = getattr(user, key)
                if secret is not None and len(secret) < SNMP_V3_MIN_KEY:
                    u.problem(key, f"must be at least {SNMP_V3_MIN_KEY} characters (SNMPv3 USM)")
            users.append(user)
        snmp = SnmpConfig(
            enabled=s.boolean("enabled", False),  # type: ignore[arg-type]
            host=self._host(s),  # type: ignore[arg-type]
            port=s.integer("port", 1161, lo=1, hi=65535),  # type: ignore[arg-type]
            read_community=s.text("read_community", None),
            trap_receivers=tuple(receivers),
            trap_community=s.text("trap_community", None),
            notify_type=s.text("notify_type", "trap", choices=("trap", "inform")),  # type: ignore[arg-type]
            v3_users=tuple(users),
        )
        if snmp.trap_community in WELL_KNOWN_COMMUNITIES:
            s.problem(
                "trap_community",
                f"{snmp.trap_community!r} is a well-known default that every scanner tries; choose your own community",
            )
        if receivers and snmp.trap_community is None and snmp.read_community is None:
            s.problem(
                "trap_receivers",
                "notifications are sent with SNMPv2c: set trap_community (or read_community) for them",
            )
        if snmp.read_community in WELL_KNOWN_COMMUNITIES:
            s.problem(
                "read_community",
                f"{snmp.read_community!r} is a well-known default that every scanner tries; choose your own community",
            )
        elif snmp.enabled and not s.has("read_community") and not users:
            s.problem(
                "enabled",
                "SNMP is enabled but neither read_community nor v3_users is set; there is no default "
                "community, choose one (or configure SNMPv3 users)",
            )
        return snmp

    @staticmethod
    def _storage(s: Section) -> StorageConfig:
        return StorageConfig(
            path=s.text("path", "var"),  # type: ignore[arg-type]
            retention_days=s.integer("retention_days", 365, lo=1),  # type: ignore[arg-type]
            min_free_mb=s.integer("min_free_mb", 1024, lo=0),  # type: ignore[arg-type]
            commit_interval_s=s.number("commit_interval_s", 60.0, ge=0.1, le=3600, unit="s"),  # type: ignore[arg-type]
            alarm_reserve_mb=s.integer("alarm_reserve_mb", 4, lo=0, hi=1024),  # type: ignore[arg-type]
        )
