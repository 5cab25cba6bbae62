"""What a topology file may say: its keys, formats and ranges, shared by the readers and the cross-checks."""

from __future__ import annotations

import ipaddress
import re

from battery.quantities import quantity
from topology.limits import MAX_ID_LENGTH
from topology.problems import quoted
from topology.schema import Section

# Standard serial rates of RS-485 devices; the devices must be set to the same.
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
PARITIES = ("N", "E", "O")
MAX_HALL_RANGE_A = int(quantity("string.current").maximum)  # the largest BM-HS: the current's measuring range
MAX_RTU_ADDRESS = 247  # Modbus RTU: 1..247 are device addresses, 0 is broadcast
OUTPUT_FUNCTIONS = ("disconnect", "siren")

ID_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_ID_LENGTH - 1}}}")
ID_SAYS = (
    f"is not a valid id: use 1 to {MAX_ID_LENGTH} letters, digits, '-', '_' or '.', starting with a letter or digit"
)
ID_RULES = {"pattern": ID_PATTERN, "pattern_says": ID_SAYS, "max_length": MAX_ID_LENGTH}  # for Section.text
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")
_SIM_PORT = re.compile(r"sim://[A-Za-z0-9_.-]+")
_SOCKET_PORT = re.compile(r"socket://(?P<host>[^:/]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")
_DEVICE_PORT = re.compile(r"/\S+|COM[0-9]+")
_PORT_NUMBER = re.compile(r"[0-9]{1,5}")  # ASCII digits only: str.isdigit() also takes '²'

TOP_KEYS = ("gateway", "buses", "upses", "master_controller", "services", "storage")
GATEWAY_KEYS = ("id", "name", "admin_port")
BUS_KEYS = ("id", "port", "baudrate", "parity", "stopbits", "timeout_s", "scan_period_s", "miss_limit")
UPS_KEYS = ("id", "index", "name", "strings")
STRING_KEYS = (
    "id", "index", "name", "bus", "address", "battery", "hall_range_a",
    "climate_sensor", "insulation_sensor", "alarm_overrides",
)  # fmt: skip
BATTERY_KEYS = ("nominal_voltage", "capacity_ah", "count")
MC_KEYS = ("bus", "address", "io_modules", "outputs", "inputs")
IO_MODULE_KEYS = ("id", "address")
OUTPUT_KEYS = ("module", "output", "function", "string")
INPUT_KEYS = ("module", "input", "alarm", "string")
SERVICES_KEYS = ("web", "modbus", "snmp", "uplink")
WEB_KEYS = ("enabled", "host", "port", "tls_cert", "tls_key", "session_idle_min", "kiosk_clients", "metrics_cells")
MODBUS_KEYS = ("enabled", "host", "port", "write_enabled", "write_clients", "max_connections", "idle_timeout_s")
MAX_MODBUS_CONNECTIONS = 256  # each is a file descriptor of the Modbus actor's process
SNMP_KEYS = ("enabled", "host", "port", "read_community", "trap_receivers", "trap_community", "notify_type", "v3_users")
SNMP_V3_USER_KEYS = ("name", "auth_key", "priv_key", "auth_protocol", "priv_protocol")
SNMP_V3_MIN_KEY = 8  # USM passphrases shorter than 8 characters are refused (RFC 3414)
UPLINK_KEYS = (
    "broker", "group_id", "edge_node_id", "primary_host_id", "tls_ca", "tls_cert", "tls_key",
    "username", "password", "data_period_s", "deadbands", "outbox_max_mb", "keepalive_s",
)  # fmt: skip
# Cells go up by exception: a value is sent when it moved this much since last sent (registry
# unit). Below these a cell's noise would send most of 3,840 cells every period.
UPLINK_DEADBANDS = {
    "cell.voltage": 0.005,
    "cell.resistance": 0.05,
    "cell.temperature": 0.5,
    "cell.soc": 1.0,
    "cell.soh": 1.0,
}
STORAGE_KEYS = ("path", "retention_days", "min_free_mb", "commit_interval_s", "alarm_reserve_mb")

# Communities every scanner tries first; SNMP must use one the site chose.
WELL_KNOWN_COMMUNITIES = frozenset({"public", "private"})


def _is_host(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return bool(_HOSTNAME.fullmatch(text))
    return True


def _host_port(text: str) -> tuple[str, int] | None:
    """("host", port) of "host:port" or "[v6]:port", or None when it is not one."""
    host, sep, port = text.rpartition(":")
    if not sep or not _PORT_NUMBER.fullmatch(port) or not 1 <= int(port) <= 65535:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return (host, int(port)) if _is_host(host) else None


def _hosts_overlap(a: str, b: str) -> bool:
    """Whether listeners on hosts a and b would take the same port (wildcards take all)."""
    wildcard = {"0.0.0.0", "::", ""}
    return a == b or a in wildcard or b in wildcard


def _claim(used: dict[tuple[str, int], Section], key: tuple[str, int], s: Section, kind: str) -> None:
    """An IO (kind "output" or "input") may be assigned once; a second assignment names the first."""
    if key in used:
        s.problem(kind, f"{kind} {key[1]} of IO module {quoted(key[0])} is already assigned at line {used[key].line}")
    else:
        used[key] = s
