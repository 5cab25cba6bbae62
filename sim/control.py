"""Fault control channel of the simulator: one JSON object per line on a loopback TCP port.

Tests and `btms sim-fault` use it to break the simulated hardware on demand while the gateway
runs against it. Request -> reply, both single JSON lines; a reply is {"ok": true, ...} or
{"ok": false, "error": "..."} naming what was wrong with the request.

Commands ("cmd"):
  status                                   line ports, noise, request counters, IO modules' inputs and outputs
  inject   string=ID fault=NAME [args={}]  fault names: see FAULTS (args are the fault's fields)
  clear    string=ID [fault=NAME]          remove one kind of fault, or all
  input    module=ID input=1..8 on=BOOL    a leak/fire detector on a BM-LC input
  io_offline module=ID offline=BOOL        a BM-LC stops answering
  noise    bus=ID fraction=0..1            that fraction of responses gets a CRC error
  unplug / replug  bus=ID                  the line disappears / comes back (same port name)
  discharge ups=ID duration_s=S current_a=A   a mains failure of one UPS, starting now
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

from sim import faults
from sim.fieldbus_sim import STATE_FILE, SimulatedFieldBuses

FAULTS: dict[str, type] = {
    "open_cell": faults.OpenCell,
    "thermal_runaway": faults.ThermalRunaway,
    "hall_disconnected": faults.HallSensorDisconnected,
    "offline": faults.DeviceOffline,
    "slow": faults.SlowDevice,
    "drifting_sensor": faults.DriftingSensor,
    "implausible_value": faults.ImplausibleValue,
}


class ControlError(ValueError):
    """A control request that cannot be carried out; the text goes back to the client."""


def _need(request: dict[str, Any], key: str) -> Any:
    if key not in request:
        raise ControlError(f"{request.get('cmd')!r} needs {key!r}")
    return request[key]


def _fault(name: str, args: dict[str, Any]) -> Any:
    try:
        kind = FAULTS[name]
    except KeyError:
        raise ControlError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}") from None
    try:
        return kind(**args)
    except (TypeError, ValueError) as exc:
        raise ControlError(f"fault {name}: {exc}") from exc


class FaultController:
    """Carries out control requests against a running simulated field (pure dispatch, no I/O)."""

    def __init__(self, field: SimulatedFieldBuses) -> None:
        self.field = field
        self.site = field.site

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, f"_cmd_{cmd}", None)
        if not isinstance(cmd, str) or handler is None:
            known = sorted(n[5:] for n in dir(self) if n.startswith("_cmd_"))
            raise ControlError(f"unknown command {cmd!r}; known: {', '.join(known)}")
        with self.site.lock:
            return handler(request)

    def _string(self, request: dict[str, Any]) -> Any:
        try:
            return self.site.string(str(_need(request, "string")))
        except KeyError as exc:
            raise ControlError(str(exc.args[0])) from None

    def _cmd_status(self, request: dict[str, Any]) -> dict[str, Any]:
        """The buses' counters and every BM-LC's inputs and outputs (what the gateway switched)."""
        controller = self.site.topology.master_controller
        modules = controller.io_modules if controller is not None else ()
        return {
            "buses": {
                bus_id: {"port": s.port, "plugged": s.endpoint.plugged, "noise": s.noise_fraction, **s.counters}
                for bus_id, s in self.field.servers.items()
            },
            "io_modules": {
                m.id: {"address": io.address, "online": io.online, "inputs": list(io.inputs), "outputs": list(io.outputs)}
                for m in modules
                for io in (self.site.io_module(m.id),)
            },
        }

    def _cmd_inject(self, request: dict[str, Any]) -> dict[str, Any]:
        string = self._string(request)
        fault = _fault(str(_need(request, "fault")), dict(request.get("args") or {}))
        try:
            string.inject(fault)
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        return {"injected": repr(fault)}

    def _cmd_clear(self, request: dict[str, Any]) -> dict[str, Any]:
        string = self._string(request)
        name = request.get("fault")
        if name is not None and name not in FAULTS:
            raise ControlError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        string.clear_faults(FAULTS[name] if name else None)
        return {}

    def _module(self, request: dict[str, Any]) -> Any:
        try:
            return self.site.io_module(str(_need(request, "module")))
        except KeyError as exc:
            raise ControlError(str(exc.args[0])) from None

    def _cmd_input(self, request: dict[str, Any]) -> dict[str, Any]:
        module = self._module(request)
        try:
            module.set_input(int(_need(request, "input")), bool(_need(request, "on")))
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        return {}

    def _cmd_io_offline(self, request: dict[str, Any]) -> dict[str, Any]:
        self._module(request).online = not bool(_need(request, "offline"))
        return {}

    def _bus(self, request: dict[str, Any]) -> Any:
        try:
            return self.field.server(str(_need(request, "bus")))
        except KeyError as exc:
            raise ControlError(str(exc.args[0])) from None

    def _cmd_noise(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            self._bus(request).set_noise(float(_need(request, "fraction")))
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        return {}

    def _cmd_unplug(self, request: dict[str, Any]) -> dict[str, Any]:
        self._bus(request).endpoint.unplug()
        return {}

    def _cmd_replug(self, request: dict[str, Any]) -> dict[str, Any]:
        bus = self._bus(request)
        bus.endpoint.replug()
        return {"port": bus.port}

    def _cmd_discharge(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            self.site.schedule_discharge(
                str(_need(request, "ups")), time.time(), float(_need(request, "duration_s")),
                float(_need(request, "current_a")),
            )  # fmt: skip
        except KeyError as exc:
            raise ControlError(f"no UPS {exc.args[0]!r}") from None
        return {}


class ControlServer:
    """Serves a FaultController on 127.0.0.1 (loopback only: it can break the simulated site)."""

    def __init__(self, field: SimulatedFieldBuses, port: int = 0) -> None:
        controller = FaultController(field)

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for line in self.rfile:
                    if not line.strip():
                        continue
                    try:
                        request = json.loads(line)
                        if not isinstance(request, dict):
                            raise ControlError("a request is one JSON object per line")
                        reply = {"ok": True, **controller.handle(request)}
                    except (ControlError, json.JSONDecodeError) as exc:
                        reply = {"ok": False, "error": str(exc)}
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
