"""Alarm limits changed at run time with `btms limits`, on a real `btms run`: they take effect
without a restart (the gateway polls the settings version) and are applied again at start.

The simulator floats 8 x 12 V batteries at about 109 V (13.6 V each, 4.8 mΩ). Lowering the
string voltage high limit to 100 V raises the string master's "Voltage high"; lowering the cell
resistance limit to 1 mΩ raises "Resistance high" in every CellSensor of the string (the cell
bank's path). Resetting them clears the alarms.
"""

from __future__ import annotations

import signal

import pytest
import yaml

from tests.gateway_process import GatewayProcess, btms, kill_all, wait_serving, write_demo_topology
from tests.support import wait_for

pytestmark = pytest.mark.integration

APPLIED_WITHIN_S = 20.0  # poll period + on-delay (1 s) + a few scans, with room for a loaded machine


def _topology(tmp_path):
    topology, data = write_demo_topology(tmp_path, cells=8, scan_period_s=0.5)
    for string in (s for ups in data["upses"] for s in ups["strings"]):
        string["alarm_overrides"] = {"alarm_on_delay_s": 1, "alarm_off_delay_s": 1}
    topology.write_text(yaml.safe_dump(data, sort_keys=False))
    return topology, data


def _stop(gateway: GatewayProcess) -> None:
    pids = gateway.actor_pids()
    try:
        gateway.stop(signal.SIGTERM)
    finally:
        kill_all(pids)


def _active(gateway: GatewayProcess, string: str, kind: str) -> list[dict]:
    code, body = gateway.get(f"/api/v1/alarms?string={string}&active=1&kind={kind}&limit=1000")
    assert code == 200, body
    return body["alarms"]


def _limits(topology, *args: str) -> None:
    done = btms("limits", *args, "--topology", str(topology))
    assert done.returncode == 0, done.stderr


def test_a_limit_set_with_the_cli_takes_effect_without_a_restart_and_again_after_one(tmp_path):
    topology, data = _topology(tmp_path)
    gateway = GatewayProcess.start(tmp_path, topology, data)
    try:
        wait_serving(gateway, timeout=30)
        assert _active(gateway, "A1", "string_voltage_high") == []
        _limits(topology, "set", "A1", "string_voltage_high_v", "100")
        raised = wait_for(
            lambda: _active(gateway, "A1", "string_voltage_high"),
            timeout=APPLIED_WITHIN_S,
            what="A1's string voltage high alarm after lowering its limit to 100 V",
        )
        assert raised[0]["limit"] == 100.0 and raised[0]["cell"] is None
        assert _active(gateway, "A2", "string_voltage_high") == []  # only the string that was changed

        _limits(topology, "set", "A2", "cell_resistance_high_mohm", "1")
        cells = wait_for(
            lambda: len(_active(gateway, "A2", "cell_resistance_high")) == 8,
            timeout=APPLIED_WITHIN_S,
            what="every cell of A2 in 'Resistance high' after lowering the limit to 1 mΩ",
        )
        assert cells

        _limits(topology, "reset", "A1")
        _limits(topology, "reset", "A2", "cell_resistance_high_mohm")
        wait_for(
            lambda: (
                not _active(gateway, "A1", "string_voltage_high") and not _active(gateway, "A2", "cell_resistance_high")
            ),
            timeout=APPLIED_WITHIN_S,
            what="the alarms to clear after the limits were reset",
        )
    finally:
        _stop(gateway)

    # Stored while no gateway runs: the next `btms run` starts its string masters with it.
    _limits(topology, "set", "B1", "string_voltage_high_v", "100")
    again = GatewayProcess.launch(tmp_path, topology, data, gateway.token, name="again")
    try:
        wait_serving(again, timeout=30)
        raised = wait_for(
            lambda: _active(again, "B1", "string_voltage_high"),
            timeout=APPLIED_WITHIN_S,
            what="B1's alarm from the limit stored before the start",
        )
        assert raised[0]["limit"] == 100.0
    finally:
        _stop(again)
