"""`btms site show|set|logo`: the project's details, logo and time zone on a headless install,
with the same checks as the settings page (web/ui/site_settings.py, web/ui/site_logo.py).
Pages read them fresh, so a running gateway shows a change on its next page.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from web.ui.site_settings import KEYS


def add_site_parser(commands, default_topology: Path) -> None:
    site = commands.add_parser("site", help="project name, company, URL, owner, logo and time zone")
    subs = site.add_subparsers(dest="site_command", required=True)

    def with_topology(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--topology", type=Path, default=default_topology)
        return parser

    def or_aggregator(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument(
            "--aggregator", type=Path, help="an aggregator's configuration: its settings, not a gateway's"
        )
        return parser

    or_aggregator(with_topology(subs.add_parser("show", help="the project's settings")))
    change = or_aggregator(with_topology(subs.add_parser("set", help="set one: " + ", ".join(KEYS))))
    change.add_argument("key", choices=KEYS)
    change.add_argument("value", help="time_zone: an IANA name such as Europe/Ljubljana")
    logo = with_topology(subs.add_parser("logo", help="set the logo from a PNG or JPEG file (at most 256 kB)"))
    which = logo.add_mutually_exclusive_group(required=True)
    which.add_argument("file", nargs="?", type=Path)
    which.add_argument("--delete", action="store_true", help="remove the logo")


def run_site(args, storage: Path) -> int:
    from web.ui.site_logo import MAX_LOGO_BYTES, LogoError, delete_logo, logo_file, save_logo
    from web.ui.site_settings import SiteSettingsBook

    command = f"btms site {args.site_command}"
    book = SiteSettingsBook(storage)
    try:
        if args.site_command == "show":
            settings = book.read()
            for key in KEYS:
                print(f"{key} = {getattr(settings, key)}")
            logo = logo_file(storage)
            print(f"logo = {logo.name if logo else 'none'}")
        elif args.site_command == "set":
            book.write({args.key: args.value})
            print(f"{args.key} set")
        elif args.delete:
            print("logo removed" if delete_logo(storage) else "there was no logo")
        else:
            with open(args.file, "rb") as source:
                data = source.read(MAX_LOGO_BYTES + 1)
            print(f"logo set ({save_logo(storage, data).name})")
    except (LogoError, ValueError, OSError) as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 1
    return 0
