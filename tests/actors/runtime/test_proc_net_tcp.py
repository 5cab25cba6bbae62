"""Reading /proc/net/tcp text: who owns the other end of a local connection.

The sample rows are real ones (a listener on port 0xEA27 = 59943, its clients over IPv4, IPv6
and IPv4-mapped IPv6), with uids changed to tell the sockets apart.
"""

from __future__ import annotations

import pytest

from actors.runtime.proc_net_tcp import (
    TcpSocketRow,
    connection_owner,
    endpoint_hex,
    parse_row,
    rows_of_connection,
)

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
SERVER = 59943  # 0xEA27

TCP = (
    "\n".join(
        [
            HEADER,
            "   0: 0100007F:EA27 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 64904 1 00000000b3cf4d4f 100 0 0 10 0",
            # a client of user 65534 at 127.0.0.1:33168 (0x8190), and our accepted end of it
            "   1: 0100007F:8190 0100007F:EA27 01 00000000:00000000 00:00000000 00000000 65534        0 117141 2 000000003aa42d8d 20 0 0 10 -1",
            "   2: 0100007F:EA27 0100007F:8190 01 00000000:00000000 00:00000000 00000000  1000        0 117143 1 000000000c977a18 20 0 0 10 -1",
            # a client of ours at 127.0.0.1:33170 (0x8192)
            "   3: 0100007F:8192 0100007F:EA27 01 00000000:00000000 00:00000000 00000000  1000        0 117150 2 0000000011112222 20 0 0 10 -1",
            # a client that closed at once (its process let go of it): FIN-WAIT2, uid printed as 0, inode 0
            "1265: 0100007F:8196 0100007F:EA27 05 00000000:00000000 03:00001770 00000000     0        0 0 3 00000000ccddf765",
            # the same local port as the first client, connected elsewhere (port 0x1F90): not our connection
            "   4: 0100007F:8190 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 117160 2 0000000033334444 20 0 0 10 -1",
        ]
    )
    + "\n"
)

TCP6 = (
    "\n".join(
        [
            HEADER,
            "   0: 00000000000000000000000000000000:EA27 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 117140 1 00000000d69c5678 100 0 0 10 0",
            # an IPv6 socket of user 65534 that connected to the IPv4 listener through ::ffff:127.0.0.1
            "   5: 0000000000000000FFFF00000100007F:8194 0000000000000000FFFF00000100007F:EA27 01 00000000:00000000 00:00000000 00000000 65534        0 117141 2 000000003aa42d8d 20 0 0 10 -1",
            # a client over ::1 at port 0xB828 = 47144
            "   4: 00000000000000000000000001000000:B828 00000000000000000000000001000000:EA27 01 00000000:00000000 00:00000000 00000000  1000        0 117142 2 00000000c826f274 20 0 0 10 -1",
        ]
    )
    + "\n"
)


def test_a_row_is_read_field_by_field():
    row = parse_row(TCP.splitlines()[2], "little")
    assert row == TcpSocketRow(("127.0.0.1", 0x8190), ("127.0.0.1", SERVER), state=1, uid=65534, inode=117141)
    assert row.held_by_a_process
    closed = parse_row(TCP.splitlines()[5], "little")
    assert closed.uid == 0 and not closed.held_by_a_process


def test_ipv6_rows_and_ipv4_mapped_addresses():
    mapped = parse_row(TCP6.splitlines()[2], "little")
    assert mapped.local == ("127.0.0.1", 0x8194) and mapped.remote == ("127.0.0.1", SERVER)
    loop6 = parse_row(TCP6.splitlines()[3], "little")
    assert loop6.local == ("::1", 0xB828) and loop6.uid == 1000


@pytest.mark.parametrize(
    "bad",
    [
        HEADER,
        "",
        "   0: 0100007F:EA27",
        "   0: 0100007G:EA27 00000000:0000 0A 0:0 0:0 0 0 0 1 1",
        "   0: 01007F:EA27 00000000:0000 0A 0:0 0:0 0 1000 0 5 1",
    ],
)
def test_what_is_not_a_row_is_named(bad):
    with pytest.raises(ValueError, match="not a /proc/net/tcp row"):
        parse_row(bad, "little")


def test_endpoints_are_written_as_the_kernel_writes_them():
    assert endpoint_hex(("127.0.0.1", SERVER), "little") == "0100007F:EA27"
    assert endpoint_hex(("127.0.0.1", SERVER), "big") == "7F000001:EA27"
    assert endpoint_hex(("127.0.0.1", 80), "little", as_ipv6=True) == "0000000000000000FFFF00000100007F:0050"
    assert endpoint_hex(("::1", 80), "little") == "00000000000000000000000001000000:0050"


def test_the_owner_is_the_uid_of_the_peers_own_row_for_this_very_connection():
    me = ("127.0.0.1", SERVER)
    assert (
        connection_owner(TCP, ("127.0.0.1", 0x8190), me, "little") == 65534
    )  # not 1000: the row with port 0x1F90 is another connection
    assert connection_owner(TCP, ("127.0.0.1", 0x8192), me, "little") == 1000
    assert [r.uid for r in rows_of_connection(TCP, ("127.0.0.1", 0x8190), me, "little")] == [65534]
    assert connection_owner(TCP6, ("127.0.0.1", 0x8194), me, "little") == 65534  # found in its IPv6 form
    assert connection_owner(TCP6, ("::1", 0xB828), ("::1", SERVER), "little") == 1000


def test_no_owner_when_no_process_holds_the_other_end_or_nothing_matches():
    me = ("127.0.0.1", SERVER)
    assert connection_owner(TCP, ("127.0.0.1", 0x8196), me, "little") is None  # closed: its uid 0 means nothing
    assert connection_owner(TCP, ("127.0.0.1", 0x9999), me, "little") is None
    assert connection_owner("", ("127.0.0.1", 0x8190), me, "little") is None
    # our own accepted end (local = me) is not the peer's row
    assert connection_owner(TCP, me, ("127.0.0.1", 0x8190), "little") == 1000
    assert connection_owner(TCP, ("127.0.0.1", 0x8190), ("127.0.0.1", 0x1F91), "little") is None


def test_one_connection_listed_for_two_users_is_not_trusted():
    twice = TCP + TCP.splitlines()[4].replace(" 1000 ", " 4242 ") + "\n"
    assert connection_owner(twice, ("127.0.0.1", 0x8192), ("127.0.0.1", SERVER), "little") is None


def test_a_big_endian_table_reads_the_same():
    big = TCP.replace("0100007F", "7F000001")
    assert connection_owner(big, ("127.0.0.1", 0x8190), ("127.0.0.1", SERVER), "big") == 65534
