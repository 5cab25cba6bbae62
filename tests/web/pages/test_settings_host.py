"""Settings → Network and NTP: read-only, never an error page when the host has no time service to
ask; only administrators see it (and the other sections)."""

from __future__ import annotations

import pytest

from tests.ui_support import app_log_in, app_with_users, run_app
from web.ui import host_info


def get_page(app, path, who="root"):
    async def scenario(client):
        await app_log_in(client, who)
        answer = await client.get(path)
        return answer.status_code, await answer.get_data(as_text=True)

    return run_app(app, scenario)


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
