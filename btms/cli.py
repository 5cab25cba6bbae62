"""The `btms` command line: run, check, bom, token, user, limits, notify, site, snmp, secret, export,
sim, sim-fault, discover."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_TOPOLOGY = Path("topology.yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="btms", description="Battery monitoring gateway for UPS battery strings")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the gateway on a topology")
    run.add_argument("topology", nargs="?", type=Path, default=DEFAULT_TOPOLOGY)

    check = commands.add_parser("check", help="validate a topology file; print every problem as FILE:LINE: message")
    check.add_argument("topology", type=Path)

    bom = commands.add_parser("bom", help="hardware list and power budget a topology needs")
    bom.add_argument("topology", type=Path)

    aggregate = commands.add_parser("aggregate", help="start an aggregator (many gateways over MQTT Sparkplug B)")
    aggregate.add_argument("--config", type=Path, required=True)

    token = commands.add_parser("token", help="API tokens for the JSON API")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    for name, help_text in (("create", "create a token and print it once"), ("revoke", "revoke a token")):
        sub = token_commands.add_parser(name, help=help_text)
        sub.add_argument("name")
        sub.add_argument("--topology", type=Path, default=DEFAULT_TOPOLOGY)
        sub.add_argument("--aggregator", type=Path, help="an aggregator's configuration: its tokens, not a gateway's")
        if name == "create":
            sub.add_argument(
                "--role",
                choices=("viewer", "operator"),
                default="operator",
                help="viewer: read only; operator: may also switch strings and acknowledge alarms",
            )
    listing = token_commands.add_parser("list", help="list token names")
    listing.add_argument("--topology", type=Path, default=DEFAULT_TOPOLOGY)
    listing.add_argument("--aggregator", type=Path, help="an aggregator's configuration: its tokens, not a gateway's")

    from btms.user_command import add_user_parser

    add_user_parser(commands, DEFAULT_TOPOLOGY)

    from btms.alarm_settings_command import add_alarm_settings_parsers
    from btms.site_command import add_site_parser
    from btms.snmp_command import add_snmp_parser

    add_alarm_settings_parsers(commands, DEFAULT_TOPOLOGY)
    add_site_parser(commands, DEFAULT_TOPOLOGY)
    add_snmp_parser(commands, DEFAULT_TOPOLOGY)

    from storage.notification_settings import SECRET_KEYS
    from storage.secrets_file import UPLINK_PASSWORD

    secret = commands.add_parser("secret", help="credentials the gateway keeps in <storage>/secrets.json (mode 0600)")
    secret_commands = secret.add_subparsers(dest="secret_command", required=True)
    for name, help_text in (
        ("set", "set a credential, read from standard input (not echoed on a terminal)"),
        ("clear", "remove a credential"),
    ):
        sub = secret_commands.add_parser(name, help=help_text)
        sub.add_argument("name", choices=(*SECRET_KEYS, UPLINK_PASSWORD))
        sub.add_argument("--topology", type=Path, default=DEFAULT_TOPOLOGY)
    listing = secret_commands.add_parser("list", help="names of the credentials that are set")
    listing.add_argument("--topology", type=Path, default=DEFAULT_TOPOLOGY)
    listing.add_argument("--aggregator", type=Path, help="an aggregator's configuration: its tokens, not a gateway's")

    export = commands.add_parser("export", help="write stored history as CSV files (RFC 4180, UTF-8)")
    export.add_argument("--topology", type=Path, default=DEFAULT_TOPOLOGY)
    export.add_argument("--from", dest="start", required=True, help="ISO 8601 with offset, e.g. 2026-11-01T00:00+01:00")
    export.add_argument("--to", dest="end", required=True, help="ISO 8601 with offset")
    export.add_argument("--ups", default=None)
    export.add_argument("--string", default=None)
    export.add_argument("--cell", type=int, default=None, help="one battery of --string (1-based)")
    export.add_argument("--out", type=Path, default=Path("."), help="folder for the CSV files")

    sim = commands.add_parser("sim", help="serve a topology's devices as Modbus RTU slaves (pseudo-terminals or TCP)")
    sim.add_argument("--topology", type=Path, default=DEFAULT_TOPOLOGY)
    sim.add_argument("--listen", choices=("pty", "tcp"), default="pty")
    sim.add_argument(
        "--run-dir", type=Path, default=None, help="where the stable device links live (default: <storage>/sim)"
    )
    sim.add_argument("--tcp-port-base", type=int, default=0, help="with --listen tcp: bus n listens on BASE + n")
    sim.add_argument("--control-port", type=int, default=0, help="loopback port of the fault control channel (0: any)")
    sim.add_argument("--seed", type=int, default=0)

    commands.add_parser(
        "sim-fault", help="inject a fault into a running `btms sim` (see `btms sim-fault -h`)", add_help=False
    )

    discover = commands.add_parser("discover", help="scan a bus for devices and print a draft topology")
    discover.add_argument("--port", required=True, help="/dev/ttyUSB0, a pty path or socket://host:port")
    discover.add_argument("--addresses", default="1-247", help="e.g. 1-32,100-104")
    discover.add_argument("--baudrates", default=None, help="comma separated, e.g. 115200,19200,9600")
    discover.add_argument("--timeout", type=float, default=None, help="answer timeout per request, s")

    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["sim-fault"]:
        from sim.control import run_fault_cli

        return run_fault_cli(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "run":
        from actors.runtime.gateway_process import run_gateway

        return run_gateway(args.topology)
    if args.command == "check":
        return _check(args.topology)
    if args.command == "bom":
        return _bom(args.topology)
    if args.command == "aggregate":
        from aggregator.main import run_aggregator

        return run_aggregator(str(args.config))
    if args.command == "token":
        return _token(args)
    if args.command == "secret":
        return _secret(args)
    if args.command == "user":
        return _user(args)
    if args.command in ("limits", "notify"):
        return _alarm_settings(args)
    if args.command == "site":
        return _site(args)
    if args.command == "snmp":
        return _snmp(args)
    if args.command == "export":
        return _export(args)
    if args.command == "sim":
        from actors.runtime.storage_access import keep_new_files_private
        from sim.fieldbus_sim import run_simulator

        keep_new_files_private()  # its device links live in the storage by default
        return run_simulator(
            args.topology,
            args.listen,
            run_dir=args.run_dir,
            tcp_port_base=args.tcp_port_base,
            control_port=args.control_port,
            seed=args.seed,
        )
    if args.command == "discover":
        from protocols.fieldbus.discovery import DEFAULT_BAUDRATES, run_discover

        try:
            rates = tuple(int(b) for b in args.baudrates.split(",")) if args.baudrates else DEFAULT_BAUDRATES
        except ValueError:
            parser.error(f"--baudrates {args.baudrates!r}: give baud rates as numbers separated by commas")
        return run_discover(args.port, args.addresses, rates, args.timeout)
    parser.error(f"unknown command {args.command}")
    return 2


def _load_or_report(path: Path):
    from topology.loader import TopologyError, load_topology
    from topology.problems import shown_problems

    try:
        return load_topology(path)
    except TopologyError as error:
        for line in shown_problems(error.problems):
            print(line, file=sys.stderr)
        print(f"{path}: {len(error.problems)} problem(s)", file=sys.stderr)
        return None


def _check(path: Path) -> int:
    topology = _load_or_report(path)
    if topology is None:
        return 1
    print(
        f"{path}: OK ({len(topology.upses)} UPSes, {len(topology.strings)} strings, "
        f"{sum(s.battery.count for s in topology.strings)} batteries)"
    )
    return 0


def _bom(path: Path) -> int:
    topology = _load_or_report(path)
    if topology is None:
        return 1
    from topology.bom import bill_of_materials, format_bill_of_materials

    print(format_bill_of_materials(bill_of_materials(topology)))
    return 0


def _export(args) -> int:
    from datetime import datetime

    from storage.history.export_csv import run_export
    from storage.history.reader import UnknownItem

    topology = _load_or_report(args.topology)
    if topology is None:
        return 1
    try:
        start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    except ValueError as error:
        print(f"btms export: {error}", file=sys.stderr)
        return 2
    try:
        files = run_export(
            topology.storage_dir(),
            topology,
            start,
            end,
            args.ups,
            args.string,
            args.cell,
            args.out,
            _progress_bar("exporting"),
        )
    except (ValueError, UnknownItem) as error:
        print(f"\nbtms export: {error.args[0] if error.args else error}", file=sys.stderr)
        return 1
    for path in files:
        print(path)
    return 0


def _progress_bar(label: str):
    """A one-line progress bar on a terminal; silent when stderr is not one."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", file=sys.stderr, flush=True)
        if done >= total:
            print(file=sys.stderr)

    return show


def _storage_private(storage: Path, command: str) -> bool:
    """What a command writes into the storage is for the gateway's user only (token hashes)."""
    from actors.runtime.errors import CannotStart
    from actors.runtime.storage_access import keep_new_files_private, make_storage_private

    keep_new_files_private()
    try:
        make_storage_private(storage)
    except CannotStart as error:
        print(f"{command}: {error}", file=sys.stderr)
        return False
    return True


def _user(args) -> int:
    from btms.user_command import run_user

    storage = _storage_of(args)
    if storage is None or not _storage_private(storage, f"btms user {args.user_command}"):
        return 1
    return run_user(args, storage)


def _alarm_settings(args) -> int:
    import getpass

    from btms.alarm_settings_command import run_limits, run_notify

    topology = _load_or_report(args.topology)
    if topology is None:
        return 1
    storage = topology.storage_dir()
    if not _storage_private(storage, f"btms {args.command}"):
        return 1
    if args.command == "limits":
        return run_limits(args, topology, f"{getpass.getuser()} (btms limits)")
    return run_notify(args, topology)


def _site(args) -> int:
    from btms.site_command import run_site

    storage = _storage_of(args)
    if storage is None or not _storage_private(storage, f"btms site {args.site_command}"):
        return 1
    return run_site(args, storage)


def _snmp(args) -> int:
    import getpass

    from btms.snmp_command import run_snmp

    topology = _load_or_report(args.topology)
    if topology is None or not _storage_private(topology.storage_dir(), f"btms snmp {args.snmp_command}"):
        return 1
    return run_snmp(args, topology.storage_dir(), topology.services.snmp, f"{getpass.getuser()} (btms snmp)")


def _storage_of(args) -> Path | None:
    """The storage whose tokens or users a `btms token|user` command manages: a gateway's or an aggregator's."""
    if getattr(args, "aggregator", None) is not None:  # `btms site logo` has no --aggregator
        from aggregator.config import load_config
        from topology.problems import TopologyError

        try:
            return load_config(args.aggregator).storage
        except TopologyError as error:
            print(str(error), file=sys.stderr)
            return None
    topology = _load_or_report(args.topology)
    return None if topology is None else topology.storage_dir()


def _token(args) -> int:
    from web.api_tokens import TokenError, create_token, list_tokens, revoke_token

    storage = _storage_of(args)
    if storage is None:
        return 1
    if not _storage_private(storage, f"btms token {args.token_command}"):
        return 1
    if args.token_command == "create":
        try:
            print(create_token(storage, args.name, args.role))
        except TokenError as error:
            print(f"btms token create: {error}", file=sys.stderr)
            return 1
        return 0
    if args.token_command == "revoke":
        if not revoke_token(storage, args.name):
            print(f"btms token revoke: no token named {args.name!r}", file=sys.stderr)
            return 1
        return 0
    for name, role, created in list_tokens(storage):
        print(f"{name}\t{role}\t{created}")
    return 0


def _secret(args) -> int:
    """Credentials go to the secrets file and a reference to settings.db (notification_store.py);
    a value is never taken from the command line, where `ps` and the shell history would show it."""
    import asyncio
    import getpass

    from storage.notification_store import NotificationStore
    from storage.secrets_file import UPLINK_PASSWORD, SecretsFileError, read_secrets, secrets_path, update_secrets
    from storage.settings_db import settings_path

    topology = _load_or_report(args.topology)
    if topology is None:
        return 1
    storage = topology.storage_dir()
    command = f"btms secret {args.secret_command}"
    if args.secret_command == "list":
        try:
            names = sorted(read_secrets(secrets_path(storage)))
        except SecretsFileError as error:
            print(f"{command}: {error}", file=sys.stderr)
            return 1
        for name in names:
            print(name)
        return 0
    value = ""
    if args.secret_command == "set":
        value = getpass.getpass(f"{args.name}: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
        if not value:
            print(
                f"{command}: no value given for {args.name} (to remove it: btms secret clear {args.name})",
                file=sys.stderr,
            )
            return 2

    async def store() -> None:
        if args.name == UPLINK_PASSWORD:
            await asyncio.to_thread(update_secrets, secrets_path(storage), {args.name: value})
            return
        notification_store = await NotificationStore.open(settings_path(storage))
        try:
            await notification_store.set_secret(args.name, value)
        finally:
            await notification_store.close()

    try:
        asyncio.run(store())
    except (ValueError, OSError) as error:  # SecretsFileError is a ValueError; a read-only disk an OSError
        print(f"{command}: {error}", file=sys.stderr)
        return 1
    done = "set" if value else "removed"
    print(f"{args.name} {done} in {secrets_path(storage)}; a running gateway uses it within a few seconds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
