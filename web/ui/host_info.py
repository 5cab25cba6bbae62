"""What the host reports about its network and its clock, for the read-only settings section.

The gateway does not configure the host's network or time service (the operating system does);
it shows what is there. Every source is optional: a missing command or file gives "not
reported", never an error page. Commands run with a short timeout and a fixed argument list.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

COMMAND_TIMEOUT_S = 2.0
NTP_CONFIG_FILES = (
    "/etc/chrony/chrony.conf",
    "/etc/chrony.conf",
    "/etc/ntp.conf",
    "/etc/ntpsec/ntp.conf",
    "/etc/systemd/timesyncd.conf",
)
_SERVER_LINE = re.compile(r"^\s*(server|pool|peer)\s+(\S+)", re.MULTILINE)
_TIMESYNCD_LINE = re.compile(r"^\s*(?:Fallback)?NTP\s*=\s*(.+)$", re.MULTILINE)
MAX_CONFIG_BYTES = 64 * 1024


@dataclass(frozen=True)
class Interface:
    name: str
    addresses: tuple[str, ...]  # "192.0.2.10/24", "fe80::1/64", "MAC 00:11:22:33:44:55"
    up: bool | None


@dataclass(frozen=True)
class TimeService:
    source: str  # where this was read, e.g. "timedatectl", "/etc/chrony/chrony.conf", "not reported"
    servers: tuple[str, ...] = ()
    synchronized: str = ""  # "yes", "no" or "" (unknown)
    details: tuple[tuple[str, str], ...] = ()


def host_name() -> str:
    return socket.gethostname()


def interfaces() -> list[Interface]:
    """From psutil when it is installed, else from iproute2's `ip -j address`, else none."""
    try:
        import psutil
    except ImportError:
        return _ip_command_interfaces()
    stats = psutil.net_if_stats()
    found = []
    for name, addresses in sorted(psutil.net_if_addrs().items()):
        shown = []
        for a in addresses:
            if a.family == socket.AF_INET:
                shown.append(f"{a.address}/{_prefix(a.netmask)}")
            elif a.family == socket.AF_INET6:
                shown.append(f"{a.address.split('%')[0]}/{_prefix(a.netmask)}")
            elif a.address and a.address != "00:00:00:00:00:00" and len(a.address) == 17:
                shown.append(f"MAC {a.address}")
        found.append(Interface(name, tuple(shown), stats[name].isup if name in stats else None))
    return found


def _ip_command_interfaces() -> list[Interface]:
    command = shutil.which("ip")
    try:
        found = json.loads(_run(command, "-j", "address") or "[]") if command else []
        return [
            Interface(
                str(nic["ifname"]),
                tuple(f"{a['local']}/{a['prefixlen']}" for a in nic.get("addr_info", []))
                + ((f"MAC {nic['address']}",) if len(nic.get("address", "")) == 17 else ()),
                "UP" in nic.get("flags", []),
            )
            for nic in found
        ]
    except (ValueError, KeyError, TypeError):
        return []


def _prefix(netmask: str | None) -> str:
    if not netmask:
        return "?"
    if ":" in netmask:
        return str(sum(bin(int(part or "0", 16)).count("1") for part in netmask.split(":")))
    return str(sum(bin(int(part)).count("1") for part in netmask.split(".")))


def time_service() -> TimeService:
    """timedatectl if present, else the first time service's configuration found, else nothing."""
    from_timedatectl = _timedatectl()
    if from_timedatectl is not None:
        return from_timedatectl
    for name in NTP_CONFIG_FILES:
        path = Path(name)
        try:
            text = path.read_bytes()[:MAX_CONFIG_BYTES].decode(errors="replace")
        except OSError:
            continue
        servers = [m.group(2) for m in _SERVER_LINE.finditer(text)]
        servers += [s for m in _TIMESYNCD_LINE.finditer(text) for s in m.group(1).split()]
        return TimeService(name, tuple(servers[:20]))
    return TimeService("not reported")


def _timedatectl() -> TimeService | None:
    command = shutil.which("timedatectl")
    values = _pairs(_run(command, "show")) if command else {}
    if not values:  # no systemd, or no answer from timedated (a container)
        return None
    sync = _pairs(_run(command, "show-timesync"))
    servers = tuple(f"{sync.get('SystemNTPServers', '')} {sync.get('ServerName', '')}".split())
    shown = tuple((k, values[k]) for k in ("Timezone", "NTP", "CanNTP") if k in values)
    synchronized = {"yes": "yes", "no": "no"}.get(values.get("NTPSynchronized", ""), "")
    return TimeService("timedatectl", servers, synchronized, shown)


def _pairs(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _run(command: str, *args: str) -> str:
    try:
        done = subprocess.run([command, *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""
