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
    SNMP_V3_USER_KEYS,
    UPLINK_KEYS,
    WEB_KEYS,
    _is_host,
)
from topology.schema import Section
from topology.snmp_rules import AUTH_PROTOCOLS, PRIV_PROTOCOLS, config_problems, key_problem, receiver_problem
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

    def _ip_list(self, s: Section, key: str, why: str) -> tuple[str, ...]:
        """A list of IP addresses; each entry that is not one is a problem at its own line."""
        addresses = []
        for text, line in s.text_list(key):
            try:
                addresses.append(str(ipaddress.ip_address(text)))
            except ValueError:
                self.log.add(line, f"{s.path}.{key}: {quoted(text)} is not an IP address ({why})")
        return tuple(addresses)

    def _web(self, s: Section) -> WebConfig:
        web = WebConfig(
            enabled=s.boolean("enabled", True),  # type: ignore[arg-type]
            host=self._host(s),  # type: ignore[arg-type]
            port=s.integer("port", 8080, lo=1, hi=65535),  # type: ignore[arg-type]
            tls_cert=s.text("tls_cert", None),
            tls_key=s.text("tls_key", None),
            session_idle_min=s.integer("session_idle_min", 30, lo=1, hi=24 * 60),  # type: ignore[arg-type]
            kiosk_clients=self._ip_list(s, "kiosk_clients", "the kiosk is opened per client address"),
            metrics_cells=s.boolean("metrics_cells", False),  # type: ignore[arg-type]
        )
        if s.has("tls_cert") != s.has("tls_key"):
            given, missing = ("tls_cert", "tls_key") if s.has("tls_cert") else ("tls_key", "tls_cert")
            s.problem(given, f"HTTPS needs both tls_cert and tls_key; {missing} is missing")
        return web

    def _modbus(self, s: Section) -> ModbusTcpConfig:
        clients = self._ip_list(s, "write_clients", "writes are allowed per client address, not per host name")
        modbus = ModbusTcpConfig(
            enabled=s.boolean("enabled", True),  # type: ignore[arg-type]
            host=self._host(s),  # type: ignore[arg-type]
            port=s.integer("port", 5020, lo=1, hi=65535),  # type: ignore[arg-type]
            write_enabled=s.boolean("write_enabled", False),  # type: ignore[arg-type]
            write_clients=clients,
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
        """The rules are topology/snmp_rules.py's: the run-time SNMP settings obey the same."""
        receivers = []
        for text, line in s.text_list("trap_receivers"):
            problem = receiver_problem(text)
            if problem:
                self.log.add(line, f"{s.path}.trap_receivers: {problem}")
            else:
                receivers.append(text)
        users = []
        for path, node in s.items("v3_users"):
            u = Section(self.log, node, path, SNMP_V3_USER_KEYS)
            user = SnmpV3UserConfig(
                name=u.text("name", **ID_RULES),  # type: ignore[arg-type]
                auth_key=u.text("auth_key"),  # type: ignore[arg-type]
                priv_key=u.text("priv_key"),  # type: ignore[arg-type]
                auth_protocol=u.text("auth_protocol", "SHA", choices=AUTH_PROTOCOLS),  # type: ignore[arg-type]
                priv_protocol=u.text("priv_protocol", "AES", choices=PRIV_PROTOCOLS),  # type: ignore[arg-type]
            )
            for key in ("auth_key", "priv_key"):
                secret = getattr(user, key)
                problem = None if secret is None else key_problem(secret)
                if problem:
                    u.problem(key, problem)
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
        for key, message in config_problems(snmp):
            if key != "enabled" or not s.has("read_community"):  # a refused community was reported already
                s.problem(key, message)
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
