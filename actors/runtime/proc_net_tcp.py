"""Which user owns the other end of a local TCP connection, read from /proc/net/tcp text.

Linux lists every TCP socket of the network namespace in /proc/net/tcp (IPv4) and
/proc/net/tcp6, one row each: local and remote address, state, uid and inode. For a connection
between two local processes, the connecting socket's row has as its LOCAL address the accepted
socket's PEER address (and as its remote address our own), and its uid is the user who created
it. A row with inode 0 is held by no process any more (closed, in FIN-WAIT or TIME-WAIT): the
kernel prints uid 0 for those, which says nothing about who sent the data.

Pure functions over the text, so they are tested on sample text; reading the files is the
caller's business (actors/runtime/same_user_only.py).
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass

Endpoint = tuple[str, int]  # (address as Python's socket module writes it, port)

_UID_FIELD = 7  # sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
_INODE_FIELD = 9


@dataclass(frozen=True)
class TcpSocketRow:
    local: Endpoint
    remote: Endpoint
    state: int
    uid: int
    inode: int

    @property
    def held_by_a_process(self) -> bool:
        """False for closed and time-wait sockets, whose uid column is always 0."""
        return self.inode != 0


def _address_hex(address: str, byteorder: str) -> str:
    """The kernel prints each 32-bit word of an address as one %08X of its value in host order."""
    packed = ipaddress.ip_address(address).packed
    words = [packed[i : i + 4] for i in range(0, len(packed), 4)]
    if byteorder == "little":
        words = [w[::-1] for w in words]
    return b"".join(words).hex().upper()


def _address_from_hex(text: str, byteorder: str) -> str:
    raw = bytes.fromhex(text)
    if len(raw) not in (4, 16):
        raise ValueError(f"address {text!r}: neither 8 nor 32 hex digits")
    words = [raw[i : i + 4] for i in range(0, len(raw), 4)]
    if byteorder == "little":
        words = [w[::-1] for w in words]
    address = ipaddress.ip_address(b"".join(words))
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def endpoint_hex(endpoint: Endpoint, byteorder: str = sys.byteorder, *, as_ipv6: bool = False) -> str:
    """How an endpoint appears in a row, e.g. ("127.0.0.1", 8080) -> "0100007F:1F90" on x86.

    `as_ipv6` writes an IPv4 address the way /proc/net/tcp6 shows it (::ffff:a.b.c.d): the
    form of an IPv6 socket that connected to an IPv4 listener."""
    address, port = endpoint
    if as_ipv6 and ipaddress.ip_address(address).version == 4:
        address = f"::ffff:{address}"
    return f"{_address_hex(address, byteorder)}:{port:04X}"


def parse_row(line: str, byteorder: str = sys.byteorder) -> TcpSocketRow:
    """One data row; ValueError names what is wrong (the header line is not a row)."""
    fields = line.split()
    if len(fields) <= _INODE_FIELD or not fields[0].endswith(":"):
        raise ValueError(f"not a /proc/net/tcp row: {line.strip()[:80]!r}")
    try:
        ends = []
        for text in fields[1:3]:
            address, port = text.split(":")
            ends.append((_address_from_hex(address, byteorder), int(port, 16)))
        return TcpSocketRow(ends[0], ends[1], int(fields[3], 16), int(fields[_UID_FIELD]), int(fields[_INODE_FIELD]))
    except ValueError as error:
        raise ValueError(f"not a /proc/net/tcp row ({error}): {line.strip()[:80]!r}") from None


def connection_needles(local: Endpoint, remote: Endpoint, byteorder: str = sys.byteorder) -> set[str]:
    """The text a row of this connection contains (its local then remote endpoint, IPv4 and IPv6 forms)."""
    return {
        f" {endpoint_hex(local, byteorder, as_ipv6=v6)} {endpoint_hex(remote, byteorder, as_ipv6=v6)} "
        for v6 in (False, True)
    }


def rows_of_connection(
    text: str, local: Endpoint, remote: Endpoint, byteorder: str = sys.byteorder
) -> list[TcpSocketRow]:
    """The rows whose local and remote endpoints are exactly these (both IPv4 and IPv6 forms).

    Searches the text for the hex form instead of parsing every row: a host has hundreds of
    sockets and we want one."""
    rows = []
    needles = connection_needles(local, remote, byteorder)
    for needle in needles:
        start = text.find(needle)
        while start >= 0:
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", start)
            rows.append(parse_row(text[line_start : line_end if line_end >= 0 else len(text)], byteorder))
            start = text.find(needle, start + len(needle))
    return rows


def connection_owner(text: str, peer: Endpoint, me: Endpoint, byteorder: str = sys.byteorder) -> int | None:
    """The uid of the process socket at `peer` connected to `me`, or None when the text shows
    none (or shows sockets of different users for that one connection, which cannot be trusted)."""
    uids = {row.uid for row in rows_of_connection(text, peer, me, byteorder) if row.held_by_a_process}
    return uids.pop() if len(uids) == 1 else None
