"""topology.yaml -> `Topology`, or every problem of the file as `FILE:LINE: what is wrong`.

This is the only code that builds the model of `battery.site`. It checks types,
ranges, hardware limits (seed 000/003), unique ids and bus addresses and every reference
between sections, so that the actor tree is never started half-built: `btms check` and
`btms run` both call `load_topology` and print the same problems.

Reading goes through PyYAML's `compose()` (nodes with line numbers, nothing constructed),
so no YAML tag can build a Python object and every value keeps its line; `yaml_source`
keeps the file, its nesting and its aliases within `topology.limits`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from battery.alarms.limits import OVERRIDABLE_LIMITS, validate_overrides
from battery.site import (
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
    OutputConfig,
    StringConfig,
    Topology,
    UpsConfig,
)
from topology.limits import MAX_NAME_LENGTH
from topology.problems import Problem, ProblemLog, TopologyError, quoted, shortened
from topology.schema import Section
from topology.yaml_source import compose_file

__all__ = ["Problem", "TopologyError", "check_topology", "load_topology"]

from topology.rules import (
    _DEVICE_PORT,
    _SIM_PORT,
    _SOCKET_PORT,
    BATTERY_KEYS,
    BAUD_RATES,
    BUS_KEYS,
    GATEWAY_KEYS,
    ID_RULES,
    INPUT_KEYS,
    IO_MODULE_KEYS,
    MAX_HALL_RANGE_A,
    MAX_RTU_ADDRESS,
    MC_KEYS,
    OUTPUT_FUNCTIONS,
    OUTPUT_KEYS,
    PARITIES,
    SERVICES_KEYS,
    STORAGE_KEYS,
    STRING_KEYS,
    TOP_KEYS,
    UPS_KEYS,
)

__all__ = ["Problem", "TopologyError", "check_topology", "load_topology"]
from topology.cross_checks import CrossChecks
from topology.services_reader import ServicesReader


def load_topology(path: str | Path) -> Topology:
    """Read and check a topology file; raise `TopologyError` listing every problem."""
    log = ProblemLog(str(path))
    root = compose_file(Path(path), log)
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


class _TopologyReader(ServicesReader, CrossChecks):
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
        gw_id = s.text("id", **ID_RULES)
        return GatewayConfig(
            id=gw_id,  # type: ignore[arg-type]
            name=s.text("name", gw_id, max_length=MAX_NAME_LENGTH),  # type: ignore[arg-type]
            admin_port=s.integer("admin_port", 19500, lo=1024, hi=65535),  # type: ignore[arg-type]
        )

    def _buses(self, top: Section) -> tuple[BusConfig, ...]:
        for path, node in top.items("buses", required=True):
            s = Section(self.log, node, path, BUS_KEYS)
            bus = BusConfig(
                id=s.text("id", **ID_RULES),  # type: ignore[arg-type]
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
                s.problem("port", f"{quoted(port)}: the TCP port must be 1..65535")
                return None
            return port
        if port.startswith("sim://") and not _SIM_PORT.fullmatch(port):
            s.problem("port", f"{quoted(port)}: a simulator port is sim://NAME (letters, digits, '-', '_', '.')")
            return None
        if not (_SIM_PORT.fullmatch(port) or _DEVICE_PORT.fullmatch(port)):
            s.problem(
                "port",
                f"{quoted(port)} is not a serial device (/dev/ttyUSB0), socket://HOST:PORT or sim://NAME",
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
            ups_id = s.text("id", **ID_RULES)
            strings = tuple(self._strings(s, ups_id))
            if s.is_empty_list("strings") and not s.broken:
                s.problem("strings", "a UPS needs at least one battery string")
            ups = UpsConfig(
                id=ups_id,  # type: ignore[arg-type]
                index=self._index(s, ups_number, MAX_UPSES_PER_GATEWAY, "UPSes"),  # type: ignore[arg-type]
                name=s.text("name", ups_id, max_length=MAX_NAME_LENGTH),  # type: ignore[arg-type]
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
            string_id = s.text("id", **ID_RULES)
            string = StringConfig(
                id=string_id,  # type: ignore[arg-type]
                index=self._index(s, number, MAX_STRINGS_PER_GATEWAY, "strings"),  # type: ignore[arg-type]
                name=s.text("name", string_id, max_length=MAX_NAME_LENGTH),  # type: ignore[arg-type]
                ups_id=ups_id,  # type: ignore[arg-type]
                bus=s.text("bus"),  # type: ignore[arg-type]
                address=self._address(s),  # type: ignore[arg-type]
                battery=self._battery(s.section("battery", BATTERY_KEYS, required=True)),
                hall_range_a=s.integer(  # type: ignore[arg-type]
                    "hall_range_a",
                    lo=1,
                    hi=MAX_HALL_RANGE_A,
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
                "count",
                lo=1,
                hi=MAX_BATTERIES_PER_STRING,
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
                    f"{where}.{shortened(name)}: unknown alarm limit; the limits a string can override "
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
                id=m.text("id", **ID_RULES),  # type: ignore[arg-type]
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
                alarm=i.text("alarm", max_length=MAX_NAME_LENGTH),  # type: ignore[arg-type]
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
