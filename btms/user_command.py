"""`btms user add|list|set|passwd|remove`: the browser UI's users, for a headless install.

The first administrator is made with `btms user add NAME --admin`; there is no default user and
no default password. With `--aggregator FILE` the command manages the users of that aggregator's
browser UI (its storage's settings.db) instead of a gateway's. A password is asked twice on a terminal; from a script it is read as two
lines of standard input, so it never appears in a command line or the shell's history.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from web.users.roles import ROLES


def add_user_parser(commands, default_topology: Path) -> None:
    user = commands.add_parser("user", help="users of the browser UI (log-in, role, alarm contacts)")
    subs = user.add_subparsers(dest="user_command", required=True)

    def with_topology(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--topology", type=Path, default=default_topology)
        parser.add_argument(
            "--aggregator", type=Path, help="an aggregator's configuration: its browser users, not a gateway's"
        )
        return parser

    def details(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--full-name", default=None)
        parser.add_argument("--email", default=None, help="where alarm e-mails go")
        parser.add_argument("--phone", default=None, help="where alarm SMS go, e.g. +38641123456")
        parser.add_argument("--email-alarms", choices=("on", "off"), default=None, help="receive alarm e-mails")
        parser.add_argument("--sms-alarms", choices=("on", "off"), default=None, help="receive alarm SMS")
        roles = parser.add_mutually_exclusive_group()
        roles.add_argument("--role", choices=ROLES, default=None)
        roles.add_argument("--admin", action="store_true", help="the same as --role admin")

    add = with_topology(subs.add_parser("add", help="add a user; the password is asked twice"))
    add.add_argument("name")
    details(add)
    change = with_topology(subs.add_parser("set", help="change a user's role or contact details"))
    change.add_argument("name")
    details(change)
    for name, text in (("passwd", "set a user's password (asked twice)"), ("remove", "remove a user")):
        with_topology(subs.add_parser(name, help=text)).add_argument("name")
    with_topology(subs.add_parser("list", help="list the users"))


def read_new_password(prompt: str = "Password") -> str:
    """The password, given the same twice: on a terminal without echo, else two lines of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        second = getpass.getpass(f"{prompt} again: ")
    else:
        first = sys.stdin.readline().rstrip("\r\n")
        second = sys.stdin.readline().rstrip("\r\n")
    if first != second:
        raise ValueError("the two passwords differ")
    return first


def run_user(args, storage: Path, read_password: Callable[[], str] = read_new_password) -> int:
    from web.session.store import end_sessions_of
    from web.users.book import User, UserBook, UserError

    book = UserBook(storage)
    command = f"btms user {args.user_command}"
    try:
        if args.user_command == "list":
            print(f"{'name':<16} {'role':<9} {'e-mail':<32} {'phone':<16} alarms   full name")
            for u in book.all():
                alarms = ",".join(c for c, on in (("email", u.receive_email), ("sms", u.receive_sms)) if on) or "-"
                print(f"{u.name:<16} {u.role:<9} {u.email:<32} {u.phone:<16} {alarms:<8} {u.full_name}")
            return 0
        if args.user_command == "add":
            user = _with_details(User(args.name, "viewer"), args)
            book.add(user, read_password())
            print(f"user {user.name!r} added with the role {user.role}")
            return 0
        if args.user_command == "set":
            old = book.get(args.name)
            if old is None:
                raise UserError(f"no user named {args.name!r}")
            book.update(_with_details(old, args))
            print(f"user {args.name!r} changed")
            return 0
        if args.user_command == "passwd":
            book.set_password(args.name, read_password())
            end_sessions_of(storage, args.name)
            print(f"password of {args.name!r} changed; their browser sessions have ended")
            return 0
        if args.user_command == "remove":
            book.remove(args.name)
            end_sessions_of(storage, args.name)
            print(f"user {args.name!r} removed")
            return 0
    except (UserError, ValueError) as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 1
    return 2


def _with_details(user, args):
    changes: dict = {}
    role = "admin" if args.admin else args.role
    if role is not None:
        changes["role"] = role
    for field in ("full_name", "email", "phone"):
        value = getattr(args, field)
        if value is not None:
            changes[field] = value.strip()
    if args.email_alarms is not None:
        changes["receive_email"] = args.email_alarms == "on"
    if args.sms_alarms is not None:
        changes["receive_sms"] = args.sms_alarms == "on"
    return replace(user, **changes)
