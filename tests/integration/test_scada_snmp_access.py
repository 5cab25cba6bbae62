"""What the SNMP agent lets an NMS see, with net-snmp's own clients: only the served subtrees."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from actors.topology.model import SnmpConfig, Topology
from protocols import snmp_oids as so
from protocols.snmp_agent import SnmpV3User
from tests.integration.test_scada_snmp import USER, AgentThread, varbinds
from tests.unit.test_scada_samples import (
    sample_string_status,
    sample_topology,
    sample_ups_status,
)

pytestmark = pytest.mark.integration
COMMUNITY = "nms-read-7f3a"  # not "public": tests look for it
SERVED = ("1.3.6.1.2.1.1.", "1.3.6.1.2.1.33.1.2.", "1.3.6.1.4.1.32473.")  # system, upsBattery, enterprise
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
GW_STRING_COUNT = ".".join(map(str, so.column("btmsGwStringCount").oid + (0,)))
UPS_VOLTAGE = ".".join(map(str, so.UPS_MIB_BATTERY + (5, 0)))  # upsBatteryVoltage.0


@pytest.fixture
def site() -> Topology:
    return sample_topology(upses=2, strings_per_ups=1, cells=2, snmp=SnmpConfig(
        enabled=True, host="127.0.0.1", port=0, read_community=COMMUNITY))


@pytest.fixture
def agent(site: Topology) -> Iterator[AgentThread]:
    a = AgentThread(site, v3_users=[USER])
    a.apply(*(sample_string_status(site, s.id) for s in site.strings))
    a.apply(*(sample_ups_status(site, u.id) for u in site.upses))
    yield a
    a.close()


def v2c(community: str = COMMUNITY) -> list[str]:
    return ["-v2c", "-c", community]


def v3(user: SnmpV3User = USER, context: str = "") -> list[str]:
    return ["-v3", "-u", user.name, "-l", "authPriv", "-a", "SHA", "-A", user.auth_key, "-x", "AES",
            "-X", user.priv_key, *(["-n", context] if context else [])]


def snmp(tool: str, port: int, security: list[str], *oids: str) -> dict[str, str]:
    """Run a net-snmp client; {numeric OID: "TYPE: value"}. Fails on any error output."""
    done = subprocess.run([tool, *security, "-On", "-t", "2", "-r", "1", f"127.0.0.1:{port}", *oids],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr, f"{tool} failed: {done.stderr}"
    return varbinds(done.stdout)


def outside_served(walked: dict[str, str]) -> list[str]:
    return [oid for oid in walked if not oid.startswith(SERVED)]


@pytest.mark.parametrize("tool", ["snmpwalk", "snmpbulkwalk"])
def test_a_v2c_walk_of_everything_returns_only_the_served_subtrees(agent: AgentThread, tool: str) -> None:
    walked = snmp(tool, agent.port, v2c(), "1.3.6.1")
    assert outside_served(walked) == []  # no USM keys (PYSNMP-USM-MIB), no communities (SNMP-COMMUNITY-MIB)
    assert walked[GW_STRING_COUNT] == "INTEGER: 2"
    assert SYS_DESCR in walked
    assert not any(COMMUNITY in v or USER.auth_key in v or USER.priv_key in v for v in walked.values())


@pytest.mark.parametrize("tool", ["snmpwalk", "snmpbulkwalk"])
def test_a_v3_walk_of_everything_returns_only_the_served_subtrees(agent: AgentThread, tool: str) -> None:
    walked = snmp(tool, agent.port, v3(), "1.3.6.1")
    assert outside_served(walked) == []
    assert walked[GW_STRING_COUNT] == "INTEGER: 2"
    assert not any(COMMUNITY in v or USER.auth_key in v or USER.priv_key in v for v in walked.values())


def test_a_ups_context_serves_the_system_and_battery_groups_only(agent: AgentThread, site: Topology) -> None:
    volts = f"INTEGER: {round(sample_ups_status(site, 'ups2').voltage_v * 10)}"
    for security in (v2c(f"{COMMUNITY}@ups2"), v3(context="ups2")):
        walked = snmp("snmpbulkwalk", agent.port, security, "1.3.6.1")
        assert outside_served(walked) == []
        assert walked[UPS_VOLTAGE] == volts
        assert SYS_DESCR in walked


def test_a_getbulk_past_the_end_of_what_is_served_is_answered_at_once(agent: AgentThread) -> None:
    """Past our subtrees pysnmp skipped its out-of-view objects one by one (about 50 ms per
    repetition, 3 s for -Cr64) before answering endOfMibView: a cheap way to load the agent."""
    last = max(tuple(map(int, k.split("."))) for k in snmp("snmpbulkwalk", agent.port, v2c(), "1.3.6.1"))
    t0 = time.perf_counter()
    done = subprocess.run(["snmpbulkget", *v2c(), "-Cr64", "-On", "-t", "10", "-r", "0", f"127.0.0.1:{agent.port}",
                           ".".join(map(str, last))], capture_output=True, text=True, timeout=30, check=False)
    elapsed = time.perf_counter() - t0
    assert done.returncode == 0 and done.stdout.count("No more variables left in this MIB View") == 64, done.stdout
    assert elapsed < 0.5, f"GETBULK of 64 past the end took {elapsed:.2f} s"


def test_usm_keys_and_communities_are_not_readable_by_get(agent: AgentThread) -> None:
    user_index = ".".join(str(b) for b in USER.name.encode())
    usm_auth_passphrase = f"1.3.6.1.4.1.20408.3.1.1.1.2.1.2.{user_index}"  # PYSNMP-USM-MIB
    got = snmp("snmpget", agent.port, v2c(), usm_auth_passphrase, "1.3.6.1.6.3.10.2.1.1.0")
    assert all(v.startswith("No Such Object") for v in got.values()), got
