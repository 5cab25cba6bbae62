"""End to end: SNMP settings changed while `btms run` runs take effect without a restart.

The community is changed with `btms snmp` (a headless install), a v3 user is added and the trap
receivers are changed through the settings page's HTTP form as a logged-in administrator; net-snmp's
snmpget and snmptrapd see the result within seconds, and no process of the gateway was restarted.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from actors.messages.service import InjectSimFault
from protocols.scada import snmp_oids as so
from sim.faults import DriftingSensor
from tests.e2e_support import running_gateway, save_topology, snmptrapd
from tests.gateway_process import REPO, GatewayProcess, gateway_actor, write_demo_topology
from tests.support import free_udp_port, wait_for
from tests.ui_support import RawBrowser, add_user

pytestmark = pytest.mark.integration
OLD, NEW, TRAPS = "e2e-old-community", "e2e-new-community", "e2e-trap-community"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
APPLIED_WITHIN_S = 10.0  # the gateway polls the settings version every 2 s; the web also tells it at once


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[GatewayProcess]:
    tmp_path = tmp_path_factory.mktemp("snmp-settings")
    topology, data = write_demo_topology(tmp_path, cells=4, scan_period_s=1.0)
    data["services"]["snmp"] = {"enabled": True, "host": "127.0.0.1", "port": free_udp_port(), "read_community": OLD}
    data["upses"][0]["strings"][0]["alarm_overrides"] = {"cell_voltage_high_v": 13.95, "alarm_on_delay_s": 1}
    save_topology(topology, data)
    add_user(topology, "root", "admin")
    with running_gateway(tmp_path, topology, data, serving_within_s=60) as process:  # a loaded test machine
        yield process


def snmpget(gateway: GatewayProcess, *security: str) -> subprocess.CompletedProcess[str]:
    port = gateway.data["services"]["snmp"]["port"]
    return subprocess.run(
        ["snmpget", *security, "-On", "-t", "1", "-r", "1", f"127.0.0.1:{port}", SYS_DESCR],
        capture_output=True,
        text=True,
        timeout=20,
    )


def admin(gateway: GatewayProcess) -> tuple[RawBrowser, str]:
    browser = RawBrowser(gateway.data["services"]["web"]["port"])
    assert browser.log_in("root").status == 303
    return browser, browser.csrf("/site/settings/snmp")


def test_a_community_changed_with_the_cli_applies_without_a_restart(gateway):
    before = gateway.actor_pids()
    wait_for(lambda: snmpget(gateway, "-v2c", "-c", OLD).returncode == 0, timeout=30, what="the agent to answer")
    done = subprocess.run(
        [sys.executable, "-m", "btms.cli", "snmp", "set", "read_community", "--topology", str(gateway.topology)],
        cwd=REPO,
        input=f"{NEW}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    wait_for(
        lambda: snmpget(gateway, "-v2c", "-c", NEW).returncode == 0,
        timeout=APPLIED_WITHIN_S,
        what="snmpget with the new community to answer",
    )
    old = snmpget(gateway, "-v2c", "-c", OLD)
    assert old.returncode != 0 and "Timeout" in old.stderr
    assert gateway.process.poll() is None and gateway.actor_pids() == before  # nothing restarted
    for log in (gateway.stdout, gateway.stderr):
        assert NEW not in log.read_text() and OLD not in log.read_text()


def test_a_v3_user_added_in_the_browser_form_can_read(gateway):
    browser, csrf = admin(gateway)
    form = {"name": "ops", "auth_protocol": "SHA-256", "auth_key": "ops-auth-key-1", "priv_protocol": "AES"}
    answer = browser.request(
        "POST", "/site/settings/snmp/user", form | {"priv_key": "ops-priv-key-1", "csrf_token": csrf}
    )
    assert answer.status == 303, answer.body
    v3 = [
        "-v3",
        "-u",
        "ops",
        "-l",
        "authPriv",
        "-a",
        "SHA-256",
        "-A",
        "ops-auth-key-1",
        "-x",
        "AES",
        "-X",
        "ops-priv-key-1",
    ]
    got = wait_for(
        lambda: (r := snmpget(gateway, *v3)).returncode == 0 and r.stdout,
        timeout=APPLIED_WITHIN_S,
        what="snmpget -v3 with the user added in the browser to answer",
    )
    assert "BTMS gateway" in got
    assert "ops-auth-key-1" not in browser.request("GET", "/site/settings/snmp").body


def test_an_alarm_trap_goes_to_the_receiver_set_in_the_browser(gateway, tmp_path):
    trap_port = free_udp_port()
    with snmptrapd(tmp_path, TRAPS, trap_port) as log:
        browser, csrf = admin(gateway)
        for form_name, form in (
            ("communities", {"trap_community": TRAPS, "notify_type": "trap"}),
            ("receiver", {"receiver": f"127.0.0.1:{trap_port}"}),
        ):
            answer = browser.request("POST", f"/site/settings/snmp/{form_name}", form | {"csrf_token": csrf})
            assert answer.status == 303, answer.body
        asys, gw = gateway_actor(gateway.admin_port)
        asys.tell(gw, InjectSimFault("A1", DriftingSensor(cell=3, quantity="voltage", counts_per_hour=720_000)))
        raised = ".".join(map(str, so.ALARM_RAISED))
        wait_for(lambda: f"OID: .{raised}" in log.read_text(), timeout=30, interval=0.1,
                 what="snmptrapd at the new receiver to log btmsAlarmRaised")  # fmt: skip
