"""`btms notify show|set`: the SMTP and SMS settings of a headless install, as the settings page
sets them. Credentials are only shown as set or not set; they are set with `btms secret set`
(read from standard input, never from the command line). A running gateway applies a change
within a few seconds (the settings version, storage/settings_version.py).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from storage.notification_edit import EDITABLE_KEYS, change_settings, shown_settings
from storage.notification_store import NotificationStore
from storage.settings_db import settings_path


def add_notify_settings_parsers(subs, with_topology) -> None:
    with_topology(subs.add_parser("show", help="the SMTP and SMS settings (credentials: set or not set)"))
    change = with_topology(subs.add_parser("set", help="set one SMTP or SMS setting, e.g. smtp.host mail.example.com"))
    change.add_argument("key", help=", ".join(EDITABLE_KEYS))
    change.add_argument("value")


def run_notify_settings(args, storage: Path) -> int:
    command = f"btms notify {args.notify_command}"

    async def work() -> None:
        store = await NotificationStore.open(settings_path(storage))
        try:
            if args.notify_command == "set":
                await change_settings(store, {args.key: args.value})
                print(f"{args.key} set; a running gateway uses it within a few seconds")
            else:
                for key, value in shown_settings(await store.load_settings()).items():
                    print(f"{key} = {value}")
        finally:
            await store.close()

    try:
        asyncio.run(work())
    except (ValueError, OSError) as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 1
    return 0
