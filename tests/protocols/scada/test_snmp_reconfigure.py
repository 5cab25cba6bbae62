"""The running SNMP agent takes new settings in place (communities, v3 users and their protocols,
trap receivers): same socket, same engine, read with net-snmp's own clients."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from battery.alarms.records import AlarmNotice
from battery.site import SnmpConfig, SnmpV3UserConfig
from protocols.scada import snmp_oids as so
from tests.e2e_support import snmptrapd
from tests.factories import sample_topology
from tests.scada_support import AgentThread, varbinds
from tests.support import free_udp_port, wait_for

pytestmark = pytest.mark.integration
OLD, NEW = "old-community-1", "new-community-2"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
GW_STRING_COUNT = ".".join(map(str, so.column("btmsGwStringCount").oid + (0,)))


def snmpget(port: int, *security: str, oid: str = SYS_DESCR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["snmpget", *security, "-On", "-t", "0.5", "-r", "0", f"127.0.0.1:{port}", oid],
        capture_output=True,
        text=True,
        timeout=20,
    )


def v3(user: SnmpV3UserConfig) -> list[str]:
    return ["-v3", "-u", user.name, "-l", "authPriv", "-a", user.auth_protocol, "-A", user.auth_key]  + [
        "-x", user.priv_protocol, "-X", user.priv_key
    ]  # fmt: skip


def test_a_new_community_and_a_new_v3_user_apply_on_the_same_socket_and_the_old_ones_stop(tmp_path):
    base = SnmpConfig(enabled=True, host="127.0.0.1", port=0, read_community=OLD)
    site = sample_topology(upses=1, strings_per_ups=1, cells=2, snmp=base)
    agent = AgentThread(site)
    try:
        assert snmpget(agent.port, "-v2c", "-c", OLD).returncode == 0
        uptime_before = varbinds(snmpget(agent.port, "-v2c", "-c", OLD, oid=SYS_UPTIME).stdout)
        user = SnmpV3UserConfig("ops", "auth-Key-2468", "priv-Key-1357", "SHA-256", "AES-256")
        changed = replace(base, port=agent.port, read_community=NEW, v3_users=(user,))

        async def change() -> None:
            agent.agent.change_settings(changed)

        agent.call(change())
        wait_for(lambda: snmpget(agent.port, "-v2c", "-c", NEW).returncode == 0, timeout=10, what="the new community")
        old = snmpget(agent.port, "-v2c", "-c", OLD)
        assert old.returncode != 0 and "Timeout" in old.stderr  # refused: no answer at all
        got = snmpget(agent.port, *v3(user), oid=GW_STRING_COUNT)
        assert got.returncode == 0, got.stderr
        assert varbinds(got.stdout)[GW_STRING_COUNT] == "INTEGER: 1"
        # The same engine: sysUpTime goes on counting, it does not start again from 0.
        uptime_after = varbinds(snmpget(agent.port, "-v2c", "-c", NEW, oid=SYS_UPTIME).stdout)
        assert _ticks(uptime_after[SYS_UPTIME]) >= _ticks(uptime_before[SYS_UPTIME])

        async def drop_user() -> None:
            agent.agent.change_settings(replace(changed, v3_users=()))

        agent.call(drop_user())
        wait_for(lambda: snmpget(agent.port, *v3(user)).returncode != 0, timeout=10, what="the removed user refused")
        assert "Unknown user name" in snmpget(agent.port, *v3(user)).stderr
    finally:
        agent.close()


def test_settings_that_break_a_rule_leave_the_previous_ones(tmp_path):
    base = SnmpConfig(enabled=True, host="127.0.0.1", port=0, read_community=OLD)
    agent = AgentThread(sample_topology(upses=1, strings_per_ups=1, cells=2, snmp=base))
    try:
        broken = replace(base, read_community=None, trap_receivers=("127.0.0.1:9162",))  # no community for traps

        async def change() -> None:
            agent.agent.change_settings(broken)
            await next(iter(agent.agent._pending))

        agent.call(change())
        assert snmpget(agent.port, "-v2c", "-c", OLD).returncode == 0
        assert agent.agent.receivers == ()
    finally:
        agent.close()


def test_traps_go_to_the_receivers_set_at_run_time(tmp_path):
    port = free_udp_port()
    base = SnmpConfig(enabled=True, host="127.0.0.1", port=0, read_community=OLD)
    site = sample_topology(upses=1, strings_per_ups=1, cells=2, snmp=base)
    with snmptrapd(tmp_path, NEW, port) as log:
        agent = AgentThread(site)
        try:
            changed = replace(base, trap_community=NEW, trap_receivers=(f"127.0.0.1:{port}",))

            async def change() -> None:
                agent.agent.change_settings(changed)
                await next(iter(agent.agent._pending))

            agent.call(change())
            agent.apply(RAISED_NOTICE)
            raised = ".".join(map(str, so.ALARM_RAISED))
            wait_for(lambda: f"OID: .{raised}" in log.read_text(), timeout=10, what="snmptrapd to log the trap")
        finally:
            agent.close()


RAISED_NOTICE = AlarmNotice(
    event="raised",
    alarm_id=7,
    kind="cell_temperature_high",
    title="Temperature high",
    ups_id="ups1",
    string_id="s1",
    cell_index=2,
    value=612.0,
    limit=550.0,
    from_time=1_800_000_000.0,
    to_time=None,
    acknowledged_by=None,
    acknowledged_at=None,
)


def _ticks(text: str) -> int:
    return int(text.split("(")[1].split(")")[0])
