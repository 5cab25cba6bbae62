"""The cross-checks of a topology: unique ids and addresses, references between sections, listeners on one port."""

from __future__ import annotations

from battery.site import (
    GatewayConfig,
    MasterControllerConfig,
    ServicesConfig,
)
from topology.problems import listing, quoted
from topology.rules import _claim, _hosts_overlap
from topology.schema import Section


class CrossChecks:
    """The cross-checks of `_TopologyReader` (topology/loader.py), run once every section is read."""

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
                at = first_port[bus.port].line
                s.problem("port", f"{quoted(bus.port)} is already the port of the bus at line {at}")
            else:
                first_port[bus.port] = s

    def _check_bus_references(self, mc: tuple[MasterControllerConfig, Section] | None) -> None:
        bus_ids = dict.fromkeys(b.id for b, _ in self.buses if b.id is not None)
        known = listing(list(bus_ids))
        users: list[tuple[str | None, Section]] = [(st.bus, s) for st, s in self.strings]
        if mc is not None:
            users.append((mc[0].bus, mc[1]))
        for bus_id, s in users:
            if bus_id is not None and bus_id not in bus_ids:
                s.problem("bus", f"no bus has the id {quoted(bus_id)} (buses: {known})")

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
                    f"address {address} on bus {quoted(bus)} is already used by {other} "
                    f"(line {other_s.line_of('address')}); each device on a bus needs its own address",
                )
            else:
                first[(bus, address)] = (what, s)

    def _check_outputs_and_inputs(self) -> None:
        modules = dict.fromkeys(m.id for m, _ in self.io_modules if m.id is not None)
        strings = dict.fromkeys(st.id for st, _ in self.strings if st.id is not None)
        modules_known = listing(list(modules))
        strings_known = listing(list(strings))

        def check_refs(module: str | None, string: str | None, s: Section) -> None:
            if module is not None and module not in modules:
                s.problem("module", f"no IO module has the id {quoted(module)} (io_modules: {modules_known})")
            if string is not None and string not in strings:
                s.problem("string", f"no string has the id {quoted(string)} (strings: {strings_known})")

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
                            f"string {quoted(out.string)} already has a disconnect output at line "
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
                            f"IO module {quoted(out.module)} already has a siren output at line "
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
