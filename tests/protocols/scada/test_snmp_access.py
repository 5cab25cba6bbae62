"""What the SNMP agent lets an NMS see, with net-snmp's own clients: only the served subtrees,
SNMPv3 authPriv (SHA + AES-128) working, a sysDescr that names the product, no secret in the log."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import structlog
from thespian.actors import ActorExitRequest, ActorSystem

from actors.messages.down import InitSnmpAgent
from actors.messages.up import ServiceFailed
from actors.site.snmp_agent import SnmpAgentActor
from battery.site import SnmpConfig, SnmpV3UserConfig, Topology
from protocols.scada import snmp_oids as so
from protocols.scada.snmp_agent import BtmsSnmpAgent, SnmpV3User
from tests.factories import (
    sample_string_status,
    sample_topology,
    sample_ups_status,
)
from tests.scada_support import USER, AgentThread, varbinds
from tests.support import REPO

pytestmark = pytest.mark.integration
COMMUNITY = "nms-read-7f3a"  # not "public": the log test looks for it
SERVED = ("1.3.6.1.2.1.1.", "1.3.6.1.2.1.33.1.2.", "1.3.6.1.4.1.32473.")  # system, upsBattery, enterprise
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
GW_STRING_COUNT = ".".join(map(str, so.column("btmsGwStringCount").oid + (0,)))
UPS_VOLTAGE = ".".join(map(str, so.UPS_MIB_BATTERY + (5, 0)))  # upsBatteryVoltage.0


@pytest.fixture
def site() -> Topology:
    return sample_topology(
        upses=2,
        strings_per_ups=1,
        cells=2,
        snmp=SnmpConfig(enabled=True, host="127.0.0.1", port=0, read_community=COMMUNITY),
    )


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
    return [
        "-v3",
        "-u",
        user.name,
        "-l",
        "authPriv",
        "-a",
        "SHA",
        "-A",
        user.auth_key,
        "-x",
        "AES",
        "-X",
        user.priv_key,
        *(["-n", context] if context else []),
    ]


def snmp(tool: str, port: int, security: list[str], *oids: str) -> dict[str, str]:
    """Run a net-snmp client; {numeric OID: "TYPE: value"}. Fails on any error output."""
    done = subprocess.run(
        [tool, *security, "-On", "-t", "2", "-r", "1", f"127.0.0.1:{port}", *oids],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
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
    done = subprocess.run(
        [
            "snmpbulkget",
            *v2c(),
            "-Cr64",
            "-On",
            "-t",
            "10",
            "-r",
            "0",
            f"127.0.0.1:{agent.port}",
            ".".join(map(str, last)),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    elapsed = time.perf_counter() - t0
    assert done.returncode == 0 and done.stdout.count("No more variables left in this MIB View") == 64, done.stdout
    assert elapsed < 0.5, f"GETBULK of 64 past the end took {elapsed:.2f} s"


def test_usm_keys_and_communities_are_not_readable_by_get(agent: AgentThread) -> None:
    user_index = ".".join(str(b) for b in USER.name.encode())
    usm_auth_passphrase = f"1.3.6.1.4.1.20408.3.1.1.1.2.1.2.{user_index}"  # PYSNMP-USM-MIB
    got = snmp("snmpget", agent.port, v2c(), usm_auth_passphrase, "1.3.6.1.6.3.10.2.1.1.0")
    assert all(v.startswith("No Such Object") for v in got.values()), got


def test_snmpv3_authpriv_with_sha_and_aes_gets_a_value(agent: AgentThread) -> None:
    got = snmp("snmpget", agent.port, v3(), GW_STRING_COUNT)
    assert got[GW_STRING_COUNT] == "INTEGER: 2"
    for lower in (["-l", "authNoPriv", "-a", "SHA", "-A", USER.auth_key], ["-l", "noAuthNoPriv"]):  # authPriv only
        refused = subprocess.run(
            [
                "snmpget",
                "-v3",
                "-u",
                USER.name,
                *lower,
                "-On",
                "-t",
                "1",
                "-r",
                "0",
                f"127.0.0.1:{agent.port}",
                GW_STRING_COUNT,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert refused.returncode != 0 and "Unsupported security level" in refused.stderr


def test_sysdescr_names_the_product_not_the_engine(agent: AgentThread) -> None:
    version = importlib.metadata.version("btms-gateway")
    for security in (v2c(), v3()):
        descr = snmp("snmpget", agent.port, security, SYS_DESCR)[SYS_DESCR]
        assert descr == f'STRING: "BTMS gateway {version}"'
        assert "pysnmp" not in descr.lower() and "python" not in descr.lower()
    assert snmp("snmpget", agent.port, v2c(), "1.3.6.1.2.1.1.2.0")["1.3.6.1.2.1.1.2.0"] == "OID: ." + ".".join(
        map(str, so.MODULE)
    )  # sysObjectID: our MIB, not pysnmp's enterprise


def test_the_agent_never_logs_a_passphrase_or_community(site: Topology) -> None:
    """Everything the agent logs while it starts, serves v3 and v2c (good and bad credentials) and
    fails to start, rendered as the gateway renders it: no passphrase and no community in it."""
    secrets = (USER.auth_key, USER.priv_key, COMMUNITY)
    with structlog.testing.capture_logs() as events:
        a = AgentThread(site, v3_users=[USER])
        try:
            snmp("snmpget", a.port, v3(), GW_STRING_COUNT)
            snmp("snmpget", a.port, v2c(), GW_STRING_COUNT)
            wrong = SnmpV3User(USER.name, "not-the-auth-key", USER.priv_key)
            assert (
                subprocess.run(
                    ["snmpget", *v3(wrong), "-On", "-t", "1", "-r", "0", f"127.0.0.1:{a.port}", GW_STRING_COUNT],
                    capture_output=True,
                    timeout=30,
                    check=False,
                ).returncode
                != 0
            )
            taken = dataclasses.replace(site.services.snmp, port=a.port)
            second = BtmsSnmpAgent(
                dataclasses.replace(site, services=dataclasses.replace(site.services, snmp=taken)),
                lambda m: None,
                v3_users=[USER],
            )
            with pytest.raises(OSError, match="cannot listen"):  # the port is taken: start fails
                a.call(second.start())
        finally:
            a.close()
    rendered = [structlog.processors.JSONRenderer()(None, "info", dict(e)) for e in events]
    listening = [json.loads(line) for line in rendered if json.loads(line)["event"] == "agent listening"]
    assert listening and listening[0]["v3_users"] == [USER.name] and listening[0]["v2c"] is True
    leaks = [line for line in rendered if any(s in line for s in secrets)]
    assert leaks == []


def test_without_the_aes_package_the_agent_refuses_to_start_with_v3_users() -> None:
    """pysnmp needs `cryptography` for AES; without it every authPriv request failed with a
    "Decryption error" while the agent looked healthy. Now the agent says what is missing."""
    script = (
        "import sys, asyncio\n"
        "sys.modules['cryptography'] = None  # as if the package were not installed\n"
        "from protocols.scada.snmp_agent import BtmsSnmpAgent, SnmpV3User\n"
        "from tests.factories import sample_topology\n"
        "agent = BtmsSnmpAgent(sample_topology(upses=1, strings_per_ups=1, cells=1), lambda m: None,\n"
        "                      v3_users=[SnmpV3User('nms', 'auth-pass-1', 'priv-pass-1')])\n"
        "async def main():\n"
        "    try:\n"
        "        await agent.start()\n"
        "    except ImportError as exc:\n"
        "        print('refused:', exc)\n"
        "    else:\n"
        "        print('started')\n"
        "    await agent.stop()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.startswith("refused:"), done.stdout + done.stderr
    assert "cryptography" in done.stdout and "SNMPv3" in done.stdout


def test_the_snmp_actor_reports_the_missing_aes_package_as_a_failed_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed service stops `btms run` with its message; any other error would make the actor
    exit and be re-created, failing again forever."""
    # What pysnmp sets when it cannot import cryptography (the subprocess test above really lacks it).
    monkeypatch.setattr("pysnmp.proto.secmod.rfc3826.priv.aes.PysnmpCryptoError", True)
    t = sample_topology(
        upses=1,
        strings_per_ups=1,
        cells=1,
        snmp=SnmpConfig(
            enabled=True, host="127.0.0.1", port=0, v3_users=(SnmpV3UserConfig("nms", "auth-pass-1", "priv-pass-1"),)
        ),
    )
    system = ActorSystem("simpleSystemBase", transientUnique=True, logDefs=False)
    try:
        actor = system.createActor(SnmpAgentActor)
        replies = [system.ask(actor, InitSnmpAgent(t), 10)]
        deadline = time.monotonic() + 10
        while not any(isinstance(r, ServiceFailed) for r in replies) and time.monotonic() < deadline:
            replies.append(system.listen(0.05))  # the simple base runs the actor's queued work meanwhile
        failed = [r for r in replies if isinstance(r, ServiceFailed)]
        assert failed and failed[0].name == "snmp" and "cryptography" in failed[0].error, replies
        system.tell(actor, ActorExitRequest())
    finally:
        system.shutdown()
