"""`btms limits show|set|reset` and `btms notify switches|switch`: a string's alarm settings on a
headless install, the same as the string settings page sets in the browser.

Both write settings.db and raise its settings version; a running gateway notices within a few
seconds (actors/site/runtime_settings.py) and applies the change without a restart. The rules are
the topology's (battery/alarms/runtime_limits.py): a bad value is refused with the limit's name
and the rule it breaks, and nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from battery.alarms.kinds import STRING_NOTIFICATION_KINDS, AlarmKind
from battery.alarms.limits import OVERRIDE_RANGES
from battery.alarms.runtime_limits import limit_rows, parse_limit_value
from battery.site import Topology
from btms.notify_settings_command import add_notify_settings_parsers, run_notify_settings
from storage.limit_overrides import reset_overrides, set_overrides, string_overrides
from storage.notification_settings import channel_enabled
from storage.notification_store import NotificationStore
from storage.settings_db import settings_path

APPLIED = "a running gateway applies it within a few seconds"
SWITCH_VALUES = {"on": True, "off": False}


def add_alarm_settings_parsers(commands, default_topology: Path) -> None:
    def with_topology(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--topology", type=Path, default=default_topology)
        return parser

    limits = commands.add_parser("limits", help="a string's alarm limits, changed at run time")
    subs = limits.add_subparsers(dest="limits_command", required=True)
    with_topology(subs.add_parser("show", help="every limit of a string and where it comes from")).add_argument(
        "string"
    )
    change = with_topology(subs.add_parser("set", help="set one limit of a string (engineering units)"))
    change.add_argument("string")
    change.add_argument("name", help=", ".join(sorted(OVERRIDE_RANGES)))
    change.add_argument("value")
    reset = with_topology(subs.add_parser("reset", help="back to topology.yaml's value or the default"))
    reset.add_argument("string")
    reset.add_argument("name", nargs="?", default=None, help="one limit; without it, every runtime limit")

    notify = commands.add_parser("notify", help="e-mail and SMS: SMTP/SMS settings, which alarms of a string are sent")
    subs = notify.add_subparsers(dest="notify_command", required=True)
    add_notify_settings_parsers(subs, with_topology)
    with_topology(subs.add_parser("switches", help="a string's e-mail/SMS switch matrix")).add_argument("string")
    switch = with_topology(subs.add_parser("switch", help="switch e-mail and/or SMS of one alarm of a string"))
    switch.add_argument("string")
    switch.add_argument("kind", help=", ".join(k.value for k in STRING_NOTIFICATION_KINDS))
    switch.add_argument("settings", nargs="+", metavar="CHANNEL=on|off", help="email=on, sms=off")


def _string(topology: Topology, string_id: str):
    try:
        return topology.string(string_id)
    except KeyError:
        known = ", ".join(s.id for s in topology.strings)
        raise ValueError(f"no string {string_id!r} in the topology (strings: {known})") from None


def run_limits(args, topology: Topology, who: str) -> int:
    command = f"btms limits {args.limits_command}"
    db = settings_path(topology.storage_dir())
    try:
        string = _string(topology, args.string)
        if args.limits_command == "set":
            value = parse_limit_value(args.name, args.value, f"string {string.id}")
            set_overrides(db, string, {args.name: value}, who)
            print(f"string {string.id}: {args.name} = {value:g} {OVERRIDE_RANGES[args.name][0]}; {APPLIED}")
        elif args.limits_command == "reset":
            if args.name is not None and args.name not in OVERRIDE_RANGES:
                raise ValueError(f"unknown alarm limit {args.name!r} (known: {', '.join(sorted(OVERRIDE_RANGES))})")
            reset_overrides(db, string, None if args.name is None else (args.name,))
            print(f"string {string.id}: {args.name or 'every runtime limit'} reset; {APPLIED}")
        else:
            for row in limit_rows(string, string_overrides(db, string.id)):
                print(
                    f"{row.name}\t{row.effective:g} {row.unit}\t{row.source}\t({row.label}; {row.low:g}..{row.high:g})"
                )
    except ValueError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 1
    return 0


def run_notify(args, topology: Topology) -> int:
    if args.notify_command in ("show", "set"):
        return run_notify_settings(args, topology.storage_dir())
    command = f"btms notify {args.notify_command}"
    try:
        string = _string(topology, args.string)
        if args.notify_command == "switch":
            email, sms = _switch_settings(args.kind, args.settings)
            return asyncio.run(_notify(args, topology, string.id, email, sms))
        return asyncio.run(_show(topology, string.id))
    except (ValueError, OSError) as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 1


def _switch_settings(kind: str, settings: list[str]) -> tuple[bool | None, bool | None]:
    if kind not in {k.value for k in STRING_NOTIFICATION_KINDS}:
        known = ", ".join(k.value for k in STRING_NOTIFICATION_KINDS)
        raise ValueError(f"unknown alarm kind {kind!r} (known: {known})")
    chosen: dict[str, bool] = {}
    for item in settings:
        channel, _, value = item.partition("=")
        if channel not in ("email", "sms") or value not in SWITCH_VALUES:
            raise ValueError(f"{item!r}: write email=on, email=off, sms=on or sms=off")
        chosen[channel] = SWITCH_VALUES[value]
    return chosen.get("email"), chosen.get("sms")


async def _notify(args, topology: Topology, string_id: str, email: bool | None, sms: bool | None) -> int:
    store = await NotificationStore.open(settings_path(topology.storage_dir()))
    try:
        switches = await store.switches()
        email = channel_enabled(switches, string_id, args.kind, "email") if email is None else email
        sms = channel_enabled(switches, string_id, args.kind, "sms") if sms is None else sms
        await store.set_switch(string_id, args.kind, email, sms)
    finally:
        await store.close()
    shown = {True: "on", False: "off"}
    print(f"string {string_id}: {args.kind} e-mail {shown[email]}, SMS {shown[sms]}; {APPLIED}")
    return 0


async def _show(topology: Topology, string_id: str) -> int:
    store = await NotificationStore.open(settings_path(topology.storage_dir()))
    try:
        switches = await store.switches()
    finally:
        await store.close()
    shown = {True: "on", False: "off"}
    for kind in STRING_NOTIFICATION_KINDS:
        email = channel_enabled(switches, string_id, kind.value, "email")
        sms = channel_enabled(switches, string_id, kind.value, "sms")
        print(f"{kind.value}\temail={shown[email]}\tsms={shown[sms]}\t({AlarmKind(kind).setting_label})")
    return 0
