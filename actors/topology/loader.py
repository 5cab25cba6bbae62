"""topology.yaml -> `Topology`, or every problem of the file as `FILE:LINE: what is wrong`.

This is the only code that builds the model of `actors.topology.model`. It checks types,
ranges, hardware limits (seed 000/003), unique ids and bus addresses and every reference
between sections, so that the actor tree is never started half-built: `btms check` and
`btms run` both call `load_topology` and print the same problems.

Reading goes through PyYAML's `compose()` (nodes with line numbers, nothing constructed),
so no YAML tag can build a Python object and every value keeps its line.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import yaml

from actors.site.alarms.limits import OVERRIDABLE_LIMITS, validate_overrides
from actors.topology.model import (
    IOS_PER_MODULE,
    MAX_BATTERIES_PER_STRING,
    MAX_IO_MODULES,
    MAX_STRINGS_PER_GATEWAY,
    MAX_UPSES_PER_GATEWAY,
    NOMINAL_BATTERY_VOLTAGES,
    BatteryType,
    BusConfig,
    GatewayConfig,
    InputConfig,
    IoModuleConfig,
    MasterControllerConfig,
    ModbusTcpConfig,
    OutputConfig,
    ServicesConfig,
    SnmpConfig,
    SnmpV3UserConfig,
    StorageConfig,
    StringConfig,
    Topology,
    UpsConfig,
    WebConfig,
)
from actors.topology.problems import Problem, ProblemLog, TopologyError
from actors.topology.schema import Section

__all__ = ["Problem", "TopologyError", "check_topology", "load_topology"]

# Standard serial rates of RS-485 devices; the devices must be set to the same.
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
PARITIES = ("N", "E", "O")
MAX_HALL_RANGE_A = 2000
MAX_RTU_ADDRESS = 247  # Modbus RTU: 1..247 are device addresses, 0 is broadcast
OUTPUT_FUNCTIONS = ("disconnect", "siren")

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
ID_SAYS = "is not a valid id: use 1 to 32 letters, digits, '-', '_' or '.', starting with a letter or digit"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")
_SIM_PORT = re.compile(r"sim://[A-Za-z0-9_.-]+")
_SOCKET_PORT = re.compile(r"socket://(?P<host>[^:/]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")
_DEVICE_PORT = re.compile(r"/\S+|COM[0-9]+")

TOP_KEYS = ("gateway", "buses", "upses", "master_controller", "services", "storage")
GATEWAY_KEYS = ("id", "name", "admin_port")
BUS_KEYS = ("id", "port", "baudrate", "parity", "stopbits", "timeout_s", "scan_period_s", "miss_limit")
UPS_KEYS = ("id", "index", "name", "strings")
STRING_KEYS = (
    "id", "index", "name", "bus", "address", "battery", "hall_range_a",
    "climate_sensor", "insulation_sensor", "alarm_overrides",
)  # fmt: skip
BATTERY_KEYS = ("nominal_voltage", "capacity_ah", "count")
MC_KEYS = ("bus", "address", "io_modules", "outputs", "inputs")
IO_MODULE_KEYS = ("id", "address")
OUTPUT_KEYS = ("module", "output", "function", "string")
INPUT_KEYS = ("module", "input", "alarm", "string")
SERVICES_KEYS = ("web", "modbus", "snmp")
WEB_KEYS = ("enabled", "host", "port", "tls_cert", "tls_key")
MODBUS_KEYS = ("enabled", "host", "port", "write_enabled", "write_clients")
SNMP_KEYS = ("enabled", "host", "port", "read_community", "trap_receivers", "trap_community", "notify_type", "v3_users")
SNMP_V3_USER_KEYS = ("name", "auth_key", "priv_key")
SNMP_V3_MIN_KEY = 8  # USM passphrases shorter than 8 characters are refused (RFC 3414)
STORAGE_KEYS = ("path", "retention_days", "min_free_mb", "commit_interval_s", "alarm_reserve_mb")

# Communities every scanner tries first; SNMP must use one the site chose.
WELL_KNOWN_COMMUNITIES = frozenset({"public", "private"})


def load_topology(path: str | Path) -> Topology:
    """Read and check a topology file; raise `TopologyError` listing every problem."""
    log = ProblemLog(str(path))
    root = _compose(Path(path), log)
    if root is None:
        raise TopologyError(log.problems)
    topology = _TopologyReader(log).read(root, source=str(Path(path).resolve()))
    if log.problems:
        raise TopologyError(log.problems)
    return topology


def check_topology(path: str | Path) -> list[Problem]:
    """Every problem of a topology file, sorted by line; empty when it is valid."""
    try:
        load_topology(path)
    except TopologyError as e:
        return e.problems
    return []


def _compose(path: Path, log: ProblemLog) -> yaml.Node | None:
    """The YAML node tree of the file, or None after reporting why there is none."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        log.add(1, f"cannot read the file: {e.strerror or e}")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        log.add(raw[: e.start].count(b"\n") + 1, "the file is not UTF-8 text")
        return None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = e.problem or e.context or "unreadable YAML"
        if e.context and e.problem and e.problem.startswith("but "):  # "expected X, but found Y"
            what = f"{e.context}, {e.problem}"
        elif e.context and e.problem and e.context_mark is not None:
            what += f" ({e.context} started at line {e.context_mark.line + 1})"
        log.add(line, f"YAML syntax error: {what}")
        return None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (control codes ...)
        log.add(text[: e.position].count("\n") + 1, f"YAML syntax error: {e.reason}")
        return None
    if root is None:
        log.add(1, "the file is empty; it must describe the gateway, its buses and its UPSes")
        return None
    return root


class _TopologyReader:
    """Reads one file: sections first (types, ranges), then the cross-checks.

    Each model object is kept with the `Section` it was read from, so that a cross-check
    (duplicate, dangling reference) points at the line of the offending value.
    """

    def __init__(self, log: ProblemLog) -> None:
        self.log = log
        self.buses: list[tuple[BusConfig, Section]] = []
        self.upses: list[tuple[UpsConfig, Section]] = []
        self.strings: list[tuple[StringConfig, Section]] = []
        self.io_modules: list[tuple[IoModuleConfig, Section]] = []
        self.outputs: list[tuple[OutputConfig, Section]] = []
        self.inputs: list[tuple[InputConfig, Section]] = []
        self.listener_sections: dict[str, Section] = {}  # "gateway", "web", "modbus": for port lines

    def read(self, root: yaml.Node, *, source: str) -> Topology:
        top = Section(self.log, root, "", TOP_KEYS)
        self.listener_sections["gateway"] = top.section("gateway", GATEWAY_KEYS, required=True)
        gateway = self._gateway(self.listener_sections["gateway"])
        buses = self._buses(top)
        upses = self._upses(top)
        mc = self._master_controller(top)
        services = self._services(top.section("services", SERVICES_KEYS))
        storage = self._storage(top.section("storage", STORAGE_KEYS))
        self._check_unique_ids()
        self._check_bus_references(mc)
        self._check_bus_addresses(mc)
        self._check_outputs_and_inputs()
        self._check_service_ports(gateway, services)
        return Topology(
            gateway=gateway,
            buses=buses,
            upses=upses,
            master_controller=mc[0] if mc else None,
            services=services,
            storage=storage,
            source=source,
        )

    # -- sections -----------------------------------------------------------------------

    def _gateway(self, s: Section) -> GatewayConfig:
        gw_id = s.text("id", pattern=ID_PATTERN, pattern_says=ID_SAYS)
        return GatewayConfig(
            id=gw_id,  # type: ignore[arg-type]
            name=s.text("name", gw_id),  # type: ignore[arg-type]
            admin_port=s.integer("admin_port", 19500, lo=1024, hi=65535),  # type: ignore[arg-type]
        )

    def _buses(self, top: Section) -> tuple[BusConfig, ...]:
        for path, node in top.items("buses", required=True):
            s = Section(self.log, node, path, BUS_KEYS)
            bus = BusConfig(
                id=s.text("id", pattern=ID_PATTERN, pattern_says=ID_SAYS),  # type: ignore[arg-type]
                port=self._port(s),  # type: ignore[arg-type]
                baudrate=s.integer("baudrate", 115200, allowed=BAUD_RATES),  # type: ignore[arg-type]
                parity=s.text("parity", "N", choices=PARITIES),  # type: ignore[arg-type]
                stopbits=s.integer("stopbits", 1, allowed=(1, 2)),  # type: ignore[arg-type]
                timeout_s=s.number("timeout_s", 0.2, gt=0, le=10, unit="s"),  # type: ignore[arg-type]
                scan_period_s=s.number("scan_period_s", 1.0, gt=0, le=3600, unit="s"),  # type: ignore[arg-type]
                miss_limit=s.integer("miss_limit", 3, lo=1, hi=100),  # type: ignore[arg-type]
            )
            self.buses.append((bus, s))
        return tuple(b for b, _ in self.buses)

    def _port(self, s: Section) -> str | None:
        port = s.text("port")
        if port is None:
            return None
        socket = _SOCKET_PORT.fullmatch(port)
        if socket:
            if not 1 <= int(socket["port"]) <= 65535:
                s.problem("port", f"{port!r}: the TCP port must be 1..65535")
                return None
            return port
        if port.startswith("sim://") and not _SIM_PORT.fullmatch(port):
            s.problem("port", f"{port!r}: a simulator port is sim://NAME (letters, digits, '-', '_', '.')")
            return None
        if not (_SIM_PORT.fullmatch(port) or _DEVICE_PORT.fullmatch(port)):
            s.problem(
                "port",
                f"{port!r} is not a serial device (/dev/ttyUSB0), socket://HOST:PORT or sim://NAME",
            )
            return None
        return port

    def _upses(self, top: Section) -> tuple[UpsConfig, ...]:
        for ups_number, (path, node) in enumerate(top.items("upses", required=True), start=1):
            s = Section(self.log, node, path, UPS_KEYS)
            if ups_number == MAX_UPSES_PER_GATEWAY + 1:
                self.log.add(
                    s.line,
                    f"{path}: a BM-GW gateway supports at most {MAX_UPSES_PER_GATEWAY} UPSes; "
                    "put the others on a second gateway",
                )
            ups_id = s.text("id", pattern=ID_PATTERN, pattern_says=ID_SAYS)
            strings = tuple(self._strings(s, ups_id))
            if s.is_empty_list("strings") and not s.broken:
                s.problem("strings", "a UPS needs at least one battery string")
            ups = UpsConfig(
                id=ups_id,  # type: ignore[arg-type]
                index=self._index(s, ups_number, MAX_UPSES_PER_GATEWAY, "UPSes"),  # type: ignore[arg-type]
                name=s.text("name", ups_id),  # type: ignore[arg-type]
                strings=strings,
            )
            self.upses.append((ups, s))
        return tuple(u for u, _ in self.upses)

    def _index(self, s: Section, in_file_order: int, limit: int, things: str) -> int | None:
        """The explicit `index`, or the position in the file (1-based) when it is omitted."""
        too_high = f"{limit}, the number of {things} a BM-GW gateway supports"
        return s.integer("index", in_file_order, lo=1, hi=limit, too_high=too_high)

    def _strings(self, ups: Section, ups_id: str | None) -> list[StringConfig]:
        strings = []
        for path, node in ups.items("strings"):
            s = Section(self.log, node, path, STRING_KEYS)
            number = len(self.strings) + 1
            if number == MAX_STRINGS_PER_GATEWAY + 1:
                self.log.add(
                    s.line,
                    f"{path}: this is string {number}; a BM-GW gateway supports at most "
                    f"{MAX_STRINGS_PER_GATEWAY} strings; put the others on a second gateway",
                )
            string_id = s.text("id", pattern=ID_PATTERN, pattern_says=ID_SAYS)
            string = StringConfig(
                id=string_id,  # type: ignore[arg-type]
                index=self._index(s, number, MAX_STRINGS_PER_GATEWAY, "strings"),  # type: ignore[arg-type]
                name=s.text("name", string_id),  # type: ignore[arg-type]
                ups_id=ups_id,  # type: ignore[arg-type]
                bus=s.text("bus"),  # type: ignore[arg-type]
                address=self._address(s),  # type: ignore[arg-type]
                battery=self._battery(s.section("battery", BATTERY_KEYS, required=True)),
                hall_range_a=s.integer(  # type: ignore[arg-type]
                    "hall_range_a", lo=1, hi=MAX_HALL_RANGE_A,
                    too_high=f"{MAX_HALL_RANGE_A} A, the largest hall sensor range (BM-HS)",
                ),  # fmt: skip
                climate_sensor=s.boolean("climate_sensor", False),  # type: ignore[arg-type]
                insulation_sensor=s.boolean("insulation_sensor", False),  # type: ignore[arg-type]
                alarm_overrides=self._alarm_overrides(s),
            )
            self.strings.append((string, s))
            strings.append(string)
        return strings

    @staticmethod
    def _address(s: Section) -> int | None:
        return s.integer(
            "address", lo=1, hi=MAX_RTU_ADDRESS,
            too_high=f"{MAX_RTU_ADDRESS}, the highest Modbus RTU device address",
        )  # fmt: skip

    @staticmethod
    def _battery(s: Section) -> BatteryType:
        return BatteryType(
            nominal_voltage=s.integer("nominal_voltage", allowed=NOMINAL_BATTERY_VOLTAGES),  # type: ignore[arg-type]
            capacity_ah=s.number("capacity_ah", gt=0, le=100_000, unit="Ah"),  # type: ignore[arg-type]
            count=s.integer(  # type: ignore[arg-type]
                "count", lo=1, hi=MAX_BATTERIES_PER_STRING,
                too_high=f"the {MAX_BATTERIES_PER_STRING} batteries a BM-SS string master supports",
            ),  # fmt: skip
        )

    def _alarm_overrides(self, s: Section) -> tuple[tuple[str, float], ...]:
        """Per-string limits; names, units and ranges belong to the alarm rules (docs/alarms.md)."""
        where = f"{s.path}.alarm_overrides"
        out = []
        for name, value, line in s.number_mapping("alarm_overrides"):
            if name not in OVERRIDABLE_LIMITS:
                self.log.add(
                    line,
                    f"{where}.{name}: unknown alarm limit; the limits a string can override "
                    f"are: {', '.join(sorted(OVERRIDABLE_LIMITS))}",
                )
                continue
            try:
                validate_overrides([(name, value)], where=where)
            except ValueError as e:  # the alarm rules' own words for a value out of range
                self.log.add(line, str(e))
                continue
            out.append((name, value))
        try:
            validate_overrides(out, where=where)  # rules between limits (low below high)
        except ValueError as e:
            self.log.add(s.line_of("alarm_overrides"), str(e))
        return tuple(out)

    def _master_controller(self, top: Section) -> tuple[MasterControllerConfig, Section] | None:
        if not top.has("master_controller"):
            return None
        s = top.section("master_controller", MC_KEYS)
        for number, (path, node) in enumerate(s.items("io_modules"), start=1):
            m = Section(self.log, node, path, IO_MODULE_KEYS)
            if number == MAX_IO_MODULES + 1:
                self.log.add(
                    m.line,
                    f"{path}: a BM-MC master controller carries at most {MAX_IO_MODULES} BM-LC IO "
                    f"modules ({MAX_IO_MODULES * IOS_PER_MODULE} IOs)",
                )
            module = IoModuleConfig(
                id=m.text("id", pattern=ID_PATTERN, pattern_says=ID_SAYS),  # type: ignore[arg-type]
                address=self._address(m),  # type: ignore[arg-type]
            )
            self.io_modules.append((module, m))
        io_numbers = dict(lo=1, hi=IOS_PER_MODULE, too_high=f"{IOS_PER_MODULE}, the IOs of a BM-LC module")
        for path, node in s.items("outputs"):
            o = Section(self.log, node, path, OUTPUT_KEYS)
            output = OutputConfig(
                module=o.text("module"),  # type: ignore[arg-type]
                output=o.integer("output", **io_numbers),  # type: ignore[arg-type]
                function=o.text("function", choices=OUTPUT_FUNCTIONS),  # type: ignore[arg-type]
                string=o.text("string", None),
            )
            self.outputs.append((output, o))
        for path, node in s.items("inputs"):
            i = Section(self.log, node, path, INPUT_KEYS)
            inp = InputConfig(
                module=i.text("module"),  # type: ignore[arg-type]
                input=i.integer("input", **io_numbers),  # type: ignore[arg-type]
                alarm=i.text("alarm"),  # type: ignore[arg-type]
                string=i.text("string", None),
            )
            self.inputs.append((inp, i))
        mc = MasterControllerConfig(
            bus=s.text("bus"),  # type: ignore[arg-type]
            address=self._address(s),  # type: ignore[arg-type]
            io_modules=tuple(m for m, _ in self.io_modules),
            outputs=tuple(o for o, _ in self.outputs),
            inputs=tuple(i for i, _ in self.inputs),
        )
        return mc, s

    def _services(self, s: Section) -> ServicesConfig:
        self.listener_sections["web"] = s.section("web", WEB_KEYS)
        self.listener_sections["modbus"] = s.section("modbus", MODBUS_KEYS)
        return ServicesConfig(
            web=self._web(self.listener_sections["web"]),
            modbus=self._modbus(self.listener_sections["modbus"]),
            snmp=self._snmp(s.section("snmp", SNMP_KEYS)),
        )

    def _host(self, s: Section) -> str | None:
        host = s.text("host", "127.0.0.1")
        if host is not None and not _is_host(host):
            s.problem("host", f"{host!r} is neither an IP address nor a host name")
            return None
        return host

    def _web(self, s: Section) -> WebConfig:
        web = WebConfig(
            enabled=s.boolean("enabled", True),  # type: ignore[arg-type]
            host=self._host(s),  # type: ignore[arg-type]
            port=s.integer("port", 8080, lo=1, hi=65535),  # type: ignore[arg-type]
            tls_cert=s.text("tls_cert", None),
            tls_key=s.text("tls_key", None),
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
                    f"{s.path}.write_clients: {text!r} is not an IP address "
                    "(writes are allowed per client address, not per host name)",
                )
        modbus = ModbusTcpConfig(
            enabled=s.boolean("enabled", True),  # type: ignore[arg-type]
            host=self._host(s),  # type: ignore[arg-type]
            port=s.integer("port", 5020, lo=1, hi=65535),  # type: ignore[arg-type]
            write_enabled=s.boolean("write_enabled", False),  # type: ignore[arg-type]
            write_clients=tuple(clients),
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
                self.log.add(line, f"{s.path}.trap_receivers: {text!r} is not HOST:PORT")
            else:
                receivers.append(text)
        users = []
        for path, node in s.items("v3_users"):
            u = Section(self.log, node, path, SNMP_V3_USER_KEYS)
            user = SnmpV3UserConfig(
                name=u.text("name", pattern=ID_PATTERN, pattern_says=ID_SAYS),  # type: ignore[arg-type]
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
                f"{snmp.read_community!r} is a well-known default that every scanner tries; "
                "choose your own community",
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

    # -- cross-checks -------------------------------------------------------------------

    def _check_unique_ids(self) -> None:
        groups: list[tuple[str, list[tuple[object, Section]], str]] = [
            ("bus", self.buses, "id"),  # type: ignore[list-item]
            ("UPS", self.upses, "id"),  # type: ignore[list-item]
            ("string", self.strings, "id"),  # type: ignore[list-item]
            ("IO module", self.io_modules, "id"),  # type: ignore[list-item]
            ("UPS", self.upses, "index"),  # type: ignore[list-item]
            ("string", self.strings, "index"),  # type: ignore[list-item]
        ]
        for kind, placed, key in groups:
            first: dict[object, Section] = {}
            for value, section in placed:
                v = getattr(value, key)
                if v is None:
                    continue
                if v in first:
                    implicit = "" if section.has("index") or key != "index" else " (numbered in file order)"
                    section.problem(
                        key,
                        f"{kind} {key} {v!r}{implicit} is already used at line "
                        f"{first[v].line_of(key)}; each {kind} needs its own {key}",
                    )
                else:
                    first[v] = section

        first_port: dict[str, Section] = {}
        for bus, s in self.buses:
            if bus.port is None:
                continue
            if bus.port in first_port:
                s.problem("port", f"{bus.port!r} is already the port of the bus at line {first_port[bus.port].line}")
            else:
                first_port[bus.port] = s

    def _check_bus_references(self, mc: tuple[MasterControllerConfig, Section] | None) -> None:
        bus_ids = list(dict.fromkeys(b.id for b, _ in self.buses if b.id is not None))
        known = ", ".join(bus_ids) or "none defined"
        users: list[tuple[str | None, Section]] = [(st.bus, s) for st, s in self.strings]
        if mc is not None:
            users.append((mc[0].bus, mc[1]))
        for bus_id, s in users:
            if bus_id is not None and bus_id not in bus_ids:
                s.problem("bus", f"no bus has the id {bus_id!r} (buses: {known})")

    def _check_bus_addresses(self, mc: tuple[MasterControllerConfig, Section] | None) -> None:
        """One device per (bus, address): string masters, the master controller, IO modules."""
        devices: list[tuple[str | None, int | None, str, Section]] = [
            (st.bus, st.address, f"the string master of string {st.id}", s) for st, s in self.strings
        ]
        if mc is not None:
            config, section = mc
            devices.append((config.bus, config.address, "the master controller", section))
            devices += [(config.bus, m.address, f"IO module {m.id}", s) for m, s in self.io_modules]
        devices.sort(key=lambda d: d[3].line_of("address"))  # the later one in the file is wrong
        first: dict[tuple[str, int], tuple[str, Section]] = {}
        for bus, address, what, s in devices:
            if bus is None or address is None:
                continue
            if (bus, address) in first:
                other, other_s = first[(bus, address)]
                s.problem(
                    "address",
                    f"address {address} on bus {bus!r} is already used by {other} "
                    f"(line {other_s.line_of('address')}); each device on a bus needs its own address",
                )
            else:
                first[(bus, address)] = (what, s)

    def _check_outputs_and_inputs(self) -> None:
        modules = list(dict.fromkeys(m.id for m, _ in self.io_modules if m.id is not None))
        strings = list(dict.fromkeys(st.id for st, _ in self.strings if st.id is not None))
        modules_known = ", ".join(modules) or "none defined"
        strings_known = ", ".join(strings) or "none defined"

        def check_refs(module: str | None, string: str | None, s: Section) -> None:
            if module is not None and module not in modules:
                s.problem("module", f"no IO module has the id {module!r} (io_modules: {modules_known})")
            if string is not None and string not in strings:
                s.problem("string", f"no string has the id {string!r} (strings: {strings_known})")

        used_outputs: dict[tuple[str, int], Section] = {}
        disconnect_of: dict[str, Section] = {}
        siren_of: dict[str, Section] = {}
        for out, s in self.outputs:
            check_refs(out.module, out.string, s)
            if out.module is not None and out.output is not None:
                _claim(used_outputs, (out.module, out.output), s, "output")
            if out.function == "disconnect":
                if not s.has("string"):
                    s.problem("function", "a disconnect output needs the string whose breaker it opens")
                elif out.string is not None:
                    if out.string in disconnect_of:
                        s.problem(
                            "string",
                            f"string {out.string!r} already has a disconnect output at line "
                            f"{disconnect_of[out.string].line}; a string has one breaker",
                        )
                    else:
                        disconnect_of[out.string] = s
            elif out.function == "siren":
                if s.has("string"):
                    s.problem("string", "a siren output follows every active alarm; it takes no string")
                if out.module is not None:
                    if out.module in siren_of:
                        s.problem(
                            "function",
                            f"IO module {out.module!r} already has a siren output at line "
                            f"{siren_of[out.module].line}; wire several sirens of one room to one output",
                        )
                    else:
                        siren_of[out.module] = s

        used_inputs: dict[tuple[str, int], Section] = {}
        for inp, s in self.inputs:
            check_refs(inp.module, inp.string, s)
            if inp.module is not None and inp.input is not None:
                _claim(used_inputs, (inp.module, inp.input), s, "input")

    def _check_service_ports(self, gateway: GatewayConfig, services: ServicesConfig) -> None:
        """Two TCP listeners of the gateway on the same port cannot both start."""
        line = {name: s.line_of("admin_port" if name == "gateway" else "port")
                for name, s in self.listener_sections.items()}  # fmt: skip
        # The actor system listens on loopback (THESPIAN.md); the services on their host.
        listeners: list[tuple[str, str, str | None, int | None, int]] = [
            ("gateway.admin_port", "the actor system (gateway.admin_port)", "127.0.0.1",
             gateway.admin_port, line["gateway"]),
        ]  # fmt: skip
        if services.web.enabled:
            web = services.web
            listeners.append(("services.web.port", "the web UI", web.host, web.port, line["web"]))
        if services.modbus.enabled:
            mb = services.modbus
            listeners.append(("services.modbus.port", "Modbus TCP", mb.host, mb.port, line["modbus"]))
        for i, (path, name, host, port, at) in enumerate(listeners):
            for _, other, other_host, other_port, _ in listeners[:i]:
                if None in (host, port, other_host) or port != other_port:
                    continue
                if _hosts_overlap(host, other_host):  # type: ignore[arg-type]
                    self.log.add(at, f"{path}: {name} and {other} would both listen on TCP port {port}")


def _is_host(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return bool(_HOSTNAME.fullmatch(text))
    return True


def _host_port(text: str) -> tuple[str, int] | None:
    """("host", port) of "host:port" or "[v6]:port", or None when it is not one."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return (host, int(port)) if _is_host(host) else None


def _hosts_overlap(a: str, b: str) -> bool:
    """Whether listeners on hosts a and b would take the same port (wildcards take all)."""
    wildcard = {"0.0.0.0", "::", ""}
    return a == b or a in wildcard or b in wildcard


def _claim(used: dict[tuple[str, int], Section], key: tuple[str, int], s: Section, kind: str) -> None:
    """An IO (kind "output" or "input") may be assigned once; a second assignment names the first."""
    if key in used:
        s.problem(kind, f"{kind} {key[1]} of IO module {key[0]!r} is already assigned at line {used[key].line}")
    else:
        used[key] = s
