"""Fault control channel of the simulator: one JSON object per line on a loopback TCP port.

Tests and `btms sim-fault` use it to break the simulated hardware on demand while the gateway
runs against it. Request -> reply, both single JSON lines; a reply is {"ok": true, ...} or
{"ok": false, "error": "..."} naming what was wrong with the request: a line that is not UTF-8,
not a JSON object or longer than MAX_REQUEST_BYTES, an unknown command, parameter or fault
field, a value of the wrong type (no coercion: "on" takes true or false, not "yes"), a value
the simulated hardware refuses (a discharge current <= 0). A refused request changes nothing
and the connection stays open for the next one.

Commands ("cmd"):
  status                                   line ports, noise, request counters, IO modules' inputs and outputs
  inject   string=ID fault=NAME [args={}]  fault names: see FAULTS (args are the fault's fields)
  clear    string=ID [fault=NAME]          remove one kind of fault, or all
  input    module=ID input=1..8 on=BOOL    a leak/fire detector on a BM-LC input
  io_offline module=ID offline=BOOL        a BM-LC stops answering
  noise    bus=ID fraction=0..1            that fraction of responses gets a CRC error
  unplug / replug  bus=ID                  the line disappears / comes back (same port name)
  discharge ups=ID duration_s=S current_a=A   a mains failure of one UPS, starting now (S, A > 0)
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structlog

from sim import faults
from sim.control_request import ControlError, Parameters, build_fault, named, parse_request
from sim.fieldbus_sim import STATE_FILE, SimulatedFieldBuses

__all__ = ["FAULTS", "MAX_REQUEST_BYTES", "ControlClient", "ControlError", "ControlServer", "FaultController"]

log = structlog.get_logger("sim.control")

FAULTS: dict[str, type] = {
    "open_cell": faults.OpenCell,
    "thermal_runaway": faults.ThermalRunaway,
    "insulation": faults.InsulationFault,
    "hall_disconnected": faults.HallSensorDisconnected,
    "offline": faults.DeviceOffline,
    "slow": faults.SlowDevice,
    "drifting_sensor": faults.DriftingSensor,
    "implausible_value": faults.ImplausibleValue,
}

# The parameters each command takes besides "cmd"; any other is refused (a typo is never ignored).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "status": (),
    "inject": ("string", "fault", "args"),
    "clear": ("string", "fault"),
    "input": ("module", "input", "on"),
    "io_offline": ("module", "offline"),
    "noise": ("bus", "fraction"),
    "unplug": ("bus",),
    "replug": ("bus",),
    "discharge": ("ups", "duration_s", "current_a"),
}

MAX_REQUEST_BYTES = 64 * 1024  # one request line; a longer one is refused without being kept


def _fault_kind(name: str) -> type:
    try:
        return FAULTS[name]
    except KeyError:
        raise ControlError(f"unknown fault {named(name)}; known: {', '.join(FAULTS)}") from None


class FaultController:
    """Carries out control requests against a running simulated field (pure dispatch, no I/O)."""

    def __init__(self, field: SimulatedFieldBuses) -> None:
        self.field = field
        self.site = field.site

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply's fields; ControlError names what is wrong, and then nothing was changed."""
        known = ", ".join(sorted(PARAMETERS))
        if "cmd" not in request:
            raise ControlError(f"a request needs 'cmd'; known: {known}")
        cmd = request["cmd"]
        if not isinstance(cmd, str) or cmd not in PARAMETERS:
            raise ControlError(f"unknown command {named(cmd)}; known: {known}")
        params = Parameters({k: v for k, v in request.items() if k != "cmd"}, cmd)
        params.allow(PARAMETERS[cmd])
        handler: Callable[[Parameters], dict[str, Any]] = getattr(self, f"_cmd_{cmd}")
        with self.site.lock:
            try:
                return handler(params)
            except ValueError as exc:  # the simulated hardware refuses a value, in its own words
                if isinstance(exc, ControlError):
                    raise
                raise ControlError(f"{cmd}: {exc}") from None

    @staticmethod
    def _found(lookup: Callable[[str], Any], name: str) -> Any:
        """A string, IO module or bus by id; its KeyError (naming what exists) becomes the reply."""
        try:
            return lookup(name)
        except KeyError as exc:
            raise ControlError(str(exc.args[0])) from None

    def _cmd_status(self, params: Parameters) -> dict[str, Any]:
        """The buses' counters and every BM-LC's inputs and outputs (what the gateway switched)."""
        controller = self.site.topology.master_controller
        modules = controller.io_modules if controller is not None else ()
        return {
            "buses": {
                bus_id: {"port": s.port, "plugged": s.endpoint.plugged, "noise": s.noise_fraction, **s.counters}
                for bus_id, s in self.field.servers.items()
            },
            "io_modules": {
                m.id: {
                    "address": io.address,
                    "online": io.online,
                    "inputs": list(io.inputs),
                    "outputs": list(io.outputs),
                }
                for m in modules
                for io in (self.site.io_module(m.id),)
            },
        }

    def _cmd_inject(self, params: Parameters) -> dict[str, Any]:
        string = self._found(self.site.string, params.text("string"))
        name = params.text("fault")
        fault = build_fault(_fault_kind(name), params.mapping("args", f"fault {name}"))
        string.inject(fault)
        return {"injected": repr(fault)}

    def _cmd_clear(self, params: Parameters) -> dict[str, Any]:
        string = self._found(self.site.string, params.text("string"))
        name = params.optional_text("fault")
        string.clear_faults(_fault_kind(name) if name is not None else None)
        return {}

    def _cmd_input(self, params: Parameters) -> dict[str, Any]:
        module = self._found(self.site.io_module, params.text("module"))
        module.set_input(params.whole("input"), params.flag("on"))
        return {}

    def _cmd_io_offline(self, params: Parameters) -> dict[str, Any]:
        module = self._found(self.site.io_module, params.text("module"))
        module.online = not params.flag("offline")
        return {}

    def _cmd_noise(self, params: Parameters) -> dict[str, Any]:
        self._found(self.field.server, params.text("bus")).set_noise(params.number("fraction"))
        return {}

    def _cmd_unplug(self, params: Parameters) -> dict[str, Any]:
        self._found(self.field.server, params.text("bus")).endpoint.unplug()
        return {}

    def _cmd_replug(self, params: Parameters) -> dict[str, Any]:
        bus = self._found(self.field.server, params.text("bus"))
        bus.endpoint.replug()
        return {"port": bus.port}

    def _cmd_discharge(self, params: Parameters) -> dict[str, Any]:
        ups = params.text("ups")
        duration_s = params.number("duration_s", more_than=0)
        current_a = params.number("current_a", more_than=0)
        try:
            self.site.topology.ups(ups)
        except KeyError:
            raise ControlError(f"no UPS {named(ups)}") from None
        self.site.schedule_discharge(ups, time.time(), duration_s, current_a)
        return {}


def answer(controller: FaultController, line: bytes) -> dict[str, Any]:
    """The reply to one request line: never an exception, so the connection goes on."""
    try:
        return {"ok": True, **controller.handle(parse_request(line))}
    except ControlError as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # a fault of the simulator itself: logged in full, answered, not fatal
        log.exception("control request failed", request=line[:200])
        return {"ok": False, "error": f"the simulator failed on this request ({type(exc).__name__}: {exc})"}


def _read_line(rfile: Any) -> bytes | None:
    """The next request line, b"" past MAX_REQUEST_BYTES (the rest is skipped), None at the end."""
    line = rfile.readline(MAX_REQUEST_BYTES + 1)
    if not line:
        return None
    if len(line) <= MAX_REQUEST_BYTES or line.endswith(b"\n"):
        return line
    while line and not line.endswith(b"\n"):  # skip to the end of the line, one bounded piece at a time
        line = rfile.readline(MAX_REQUEST_BYTES)
    return b""


class ControlServer:
    """Serves a FaultController on 127.0.0.1 (loopback only: it can break the simulated site)."""

    def __init__(self, field: SimulatedFieldBuses, port: int = 0) -> None:
        controller = FaultController(field)

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while (line := _read_line(self.rfile)) is not None:
                    if line == b"":
                        reply = {"ok": False, "error": f"a request line is longer than {MAX_REQUEST_BYTES} bytes"}
                    elif not line.strip():
                        continue
                    else:
                        reply = answer(controller, line)
                    self.wfile.write(json.dumps(reply).encode() + b"\n")
                    self.wfile.flush()

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", port), Handler)
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="sim-control", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class ControlClient:
    """Talks to a running simulator's control channel."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout_s: float = 5.0) -> None:
        self._sock = socket.create_connection((host, port), timeout=timeout_s)
        self._file = self._sock.makefile("rwb")

    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> ControlClient:
        state_file = Path(run_dir) / STATE_FILE
        try:
            state = json.loads(state_file.read_text())
        except FileNotFoundError:
            raise ControlError(f"{state_file}: no simulator is running with this run directory") from None
        host, port = state["control"].rsplit(":", 1)
        return cls(int(port), host)

    def send(self, cmd: str, **params: Any) -> dict[str, Any]:
        """One request; raises ControlError with the simulator's reason when it refuses."""
        self._file.write(json.dumps({"cmd": cmd, **params}).encode() + b"\n")
        self._file.flush()
        line = self._file.readline()
        if not line:
            raise ControlError("the simulator closed the control connection")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise ControlError(reply.get("error", "refused"))
        return reply

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _value(text: str) -> Any:
    """CLI values: JSON when it parses (numbers, true/false), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run_fault_cli(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    """`btms sim-fault`: e.g. `--run-dir var/sim inject string=A1 fault=open_cell cell=5`.

    key=value pairs become the request; for inject, keys other than string/fault are the
    fault's fields. Prints the reply; exit code 0 when the simulator accepted the request.
    """
    parser = argparse.ArgumentParser(prog="btms sim-fault", description="Inject faults into a running `btms sim`.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--run-dir", help="the simulator's run directory (it holds sim.json)")
    where.add_argument("--port", type=int, help="the control port the simulator printed")
    parser.add_argument("command", help="status, inject, clear, input, io_offline, noise, unplug, replug, discharge")
    parser.add_argument("params", nargs="*", metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    params: dict[str, Any] = {}
    for item in args.params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"{item!r} is not KEY=VALUE")
        params[key] = _value(value)
    if args.command == "inject":
        fixed = {k: params.pop(k) for k in ("string", "fault") if k in params}
        params = {**fixed, "args": params}
    try:
        client = ControlClient.from_run_dir(args.run_dir) if args.run_dir else ControlClient(args.port)
        with client:
            reply = client.send(args.command, **params)
    except (ControlError, OSError) as exc:
        out(f"error: {exc}")
        return 1
    out(json.dumps(reply, indent=2))
    return 0
