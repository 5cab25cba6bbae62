"""Settings → SNMP and Settings → Network and NTP: read-only, secrets never shown, never an error
page when the host has no time service to ask."""

from __future__ import annotations

from dataclasses import replace

import pytest

from battery.site import SnmpConfig, SnmpV3UserConfig
from tests.support import small_topology
from tests.ui_support import app_log_in, app_with_users, run_app
from web.ui import host_info

SNMP = SnmpConfig(
    enabled=True,
    read_community="r3ad-Commun1ty",
    trap_receivers=("192.0.2.50:162",),
    trap_community="tr4p-Commun1ty",
    v3_users=(SnmpV3UserConfig("nms", "auth-Key-12345", "priv-Key-67890"),),
)


def get_page(app, path, who="root"):
    async def scenario(client):
        await app_log_in(client, who)
        answer = await client.get(path)
        return answer.status_code, await answer.get_data(as_text=True)

    return run_app(app, scenario)


def test_snmp_is_shown_with_its_yaml_keys_and_without_its_secrets(tmp_path):
    topology = small_topology(tmp_path)
    topology = replace(topology, services=replace(topology.services, snmp=SNMP))
    app, _ = app_with_users(tmp_path, topology)
    status, page = get_page(app, "/site/settings/snmp")
    assert status == 200
    for shown in ("services.snmp.read_community", "services.snmp.v3_users", "192.0.2.50:162", "nms"):
        assert shown in page
    for secret in ("r3ad-Commun1ty", "tr4p-Commun1ty", "auth-Key-12345", "priv-Key-67890"):
        assert secret not in page


def test_ntp_servers_come_from_a_config_file_when_timedatectl_is_missing(tmp_path, monkeypatch):
    chrony = tmp_path / "chrony.conf"
    chrony.write_text("# comment\npool 2.debian.pool.ntp.org iburst\nserver 192.0.2.1 iburst\n")
    monkeypatch.setattr(host_info.shutil, "which", lambda name: None)
    monkeypatch.setattr(host_info, "NTP_CONFIG_FILES", (str(tmp_path / "absent.conf"), str(chrony)))
    found = host_info.time_service()
    assert found.source == str(chrony) and found.servers == ("2.debian.pool.ntp.org", "192.0.2.1")


def test_the_page_says_not_reported_when_the_host_reports_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(host_info.shutil, "which", lambda name: None)
    monkeypatch.setattr(host_info, "NTP_CONFIG_FILES", ())
    app, _ = app_with_users(tmp_path)
    status, page = get_page(app, "/site/settings/host")
    assert status == 200 and "Not reported: no timedatectl" in page
    assert "127.0.0.1/8" in page  # the loopback interface, with its address


@pytest.mark.parametrize("path", ["/site/settings/snmp", "/site/settings/host", "/site/settings/exports"])
def test_an_operator_gets_403_on_the_read_only_sections_too(tmp_path, path):
    app, _ = app_with_users(tmp_path)
    status, page = get_page(app, path, who="olga")
    assert status == 403 and "for administrators" in page
