"""`btms snmp show|set|user|receiver|reset`: the SNMP settings of a headless install, as the
settings page sets them (storage/snmp_settings.py): communities, SNMPv3 users and trap
receivers over topology.yaml's services.snmp. A running gateway applies a change within a few
seconds, without a restart (the settings version).

Communities and v3 keys are read from standard input (without echo on a terminal), never from
the command line, where `ps` and the shell's history would show them; `show` says only whether
each is set.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from battery.site import SnmpConfig, SnmpV3UserConfig
from storage import snmp_settings as ss
from topology.snmp_rules import AUTH_PROTOCOLS, PRIV_PROTOCOLS

KEYS = (*ss.COMMUNITIES, "notify_type")


def add_snmp_parser(commands, default_topology: Path) -> None:
    snmp = commands.add_parser("snmp", help="SNMP communities, v3 users and trap receivers (over topology.yaml)")
    subs = snmp.add_subparsers(dest="snmp_command", required=True)

    def with_topology(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--topology", type=Path, default=default_topology)
        return parser

    with_topology(subs.add_parser("show", help="the SNMP settings in force and where each comes from"))
    change = with_topology(subs.add_parser("set", help="set a community (read from stdin) or notify_type"))
    change.add_argument("key", choices=KEYS)
    change.add_argument(
        "value", nargs="?", default=None, help="notify_type: trap or inform; a community: 'off', else read from stdin"
    )
    user = subs.add_parser("user", help="SNMPv3 users").add_subparsers(dest="user_command", required=True)
    add = with_topology(user.add_parser("add", help="add (or re-key) a user; auth then priv key: two lines of stdin"))
    add.add_argument("name")
    add.add_argument("--auth-protocol", choices=AUTH_PROTOCOLS, default="SHA")
    add.add_argument("--priv-protocol", choices=PRIV_PROTOCOLS, default="AES")
    with_topology(user.add_parser("remove", help="remove a user")).add_argument("name")
    receiver = subs.add_parser("receiver", help="trap receivers").add_subparsers(dest="receiver_command", required=True)
    for name in ("add", "remove"):
        with_topology(receiver.add_parser(name, help=f"{name} a trap receiver")).add_argument(
            "receiver", help="HOST:PORT"
        )
    with_topology(subs.add_parser("reset", help="remove every SNMP setting made here: topology.yaml's apply"))


def run_snmp(args, storage: Path, base: SnmpConfig, who: str) -> int:
    command = " ".join(
        ["btms snmp", args.snmp_command, getattr(args, "user_command", getattr(args, "receiver_command", ""))]
    )
    try:
        if args.snmp_command == "show":
            _show(ss.shown_snmp(storage, base))
            return 0
        done = _change(args, storage, base, who)
    except (ValueError, OSError) as error:  # a refused value, a damaged secrets file, a read-only disk
        print(f"{command.strip()}: {error}", file=sys.stderr)
        return 1
    print(f"{done}; a running gateway applies it within a few seconds")
    return 0


def _change(args, storage: Path, base: SnmpConfig, who: str) -> str:
    if args.snmp_command == "set" and args.key == "notify_type":
        ss.set_notify_type(storage, base, args.value or "", who)
        return f"notify_type set to {args.value}"
    if args.snmp_command == "set":
        if args.value not in (None, "-", "off"):
            raise ValueError(
                "a community is read from standard input, never from the command line; give 'off' or nothing"
            )
        value = None if args.value == "off" else _read_secret(args.key)
        ss.set_community(storage, base, args.key, value, who)
        return f"{args.key} {'off' if value is None else 'set'}"
    if args.snmp_command == "user" and args.user_command == "add":
        auth, priv = _read_secret("auth key"), _read_secret("priv key")
        ss.add_user(storage, base, SnmpV3UserConfig(args.name, auth, priv, args.auth_protocol, args.priv_protocol), who)
        return f"SNMPv3 user {args.name} set ({args.auth_protocol}, {args.priv_protocol})"
    if args.snmp_command == "user":
        ss.remove_user(storage, base, args.name, who)
        return f"SNMPv3 user {args.name} removed"
    if args.snmp_command == "receiver" and args.receiver_command == "add":
        ss.add_receiver(storage, base, args.receiver, who)
        return f"trap receiver {args.receiver} added"
    if args.snmp_command == "receiver":
        ss.remove_receiver(storage, base, args.receiver, who)
        return f"trap receiver {args.receiver} removed"
    ss.reset(storage, base, who)
    return "SNMP settings reset to topology.yaml's"


def _read_secret(what: str) -> str:
    """One line of standard input; on a terminal asked for without echo."""
    value = getpass.getpass(f"{what}: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise ValueError(f"no {what} given on standard input")
    return value


def _show(shown: ss.ShownSnmp) -> None:
    snmp = shown.snmp

    def state(value: str | None) -> str:
        return "set" if value else "not set"

    print(f"enabled = {'yes' if snmp.enabled else 'no'} (topology.yaml)")
    print(f"listen = {snmp.host}:{snmp.port} (topology.yaml)")
    for key in KEYS:
        value = getattr(snmp, key)
        print(f"{key} = {value if key == 'notify_type' else state(value)} ({shown.source(key)})")
    for u in snmp.v3_users:
        keys = f"auth key {state(u.auth_key)}, priv key {state(u.priv_key)}"
        print(f"v3_user {u.name}: {u.auth_protocol}, {u.priv_protocol}, {keys} ({shown.source(ss.USER + u.name)})")
    for r in snmp.trap_receivers:
        print(f"trap_receiver {r} ({shown.source(ss.RECEIVER + r)})")
    if shown.problem:
        print(f"stored settings {shown.problem}", file=sys.stderr)
